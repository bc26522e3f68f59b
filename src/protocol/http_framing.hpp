// How an HTTP/1.1 request's body is delimited, checked before the body is trusted
// (RFC 9112 §6.1): a request with Transfer-Encoding must end its codings with `chunked`, once,
// and greendot decodes no other coding. Anything else would leave the body's end to guesswork,
// and the bytes after a misread end to be parsed as the next request.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace greendot::protocol::http {

struct FramingProblem {
  int status;  // 400 (the message cannot be delimited) or 501 (a coding greendot lacks)
  std::string message;
};

// `transfer_encoding` is every Transfer-Encoding field line of the request, joined with ",";
// empty when there is none.
std::optional<FramingProblem> check_transfer_encoding(std::string_view transfer_encoding);

}  // namespace greendot::protocol::http
