// An HTTP request and its answer as the APIs see them: plain values, independent of the HTTP
// library, so that every endpoint can be tested without sockets.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/rest_signature.hpp"

namespace greendot::api {

struct RestRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // as sent (the signed form), without the query
  protocol::QueryParams query;
  std::string body;
  std::string authorization;  // the Authorization header
  std::string origin;         // the Origin header, for CORS
};

struct RestResponse {
  int status = 200;
  std::string body;                                          // JSON
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (CORS, Allow)
};

// Called exactly once with the answer, possibly from an engine thread (post it back).
using Respond = std::function<void(RestResponse)>;

// A JSON error body {"error": message} with its status.
RestResponse rest_error(int status, std::string_view message);

// 503: the engine could not answer now (a shared store out of reach); the request may be
// repeated as it is.
RestResponse engine_unavailable();

}  // namespace greendot::api
