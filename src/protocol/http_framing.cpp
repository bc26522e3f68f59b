#include "protocol/http_framing.hpp"

#include <algorithm>
#include <vector>

namespace greendot::protocol::http {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
  return out;
}

// The codings, without parameters (";q=..."), blanks or empty list elements.
std::vector<std::string> codings_of(std::string_view list) {
  std::vector<std::string> codings;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) codings.push_back(lowercase(item));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return codings;
}

}  // namespace

std::optional<FramingProblem> check_transfer_encoding(std::string_view transfer_encoding) {
  if (transfer_encoding.empty()) return std::nullopt;
  const auto codings = codings_of(transfer_encoding);
  if (codings.empty()) return FramingProblem{400, "Transfer-Encoding is empty"};
  if (codings.back() != "chunked") {
    return FramingProblem{400, "Transfer-Encoding must end with chunked, got \"" +
                                   std::string(transfer_encoding) + "\""};
  }
  const auto chunked = std::count(codings.begin(), codings.end(), "chunked");
  if (chunked > 1) return FramingProblem{400, "Transfer-Encoding names chunked more than once"};
  for (const auto& coding : codings) {
    if (coding != "chunked") {
      return FramingProblem{501, "Transfer-Encoding " + coding +
                                     " is not supported; send the body chunked or with "
                                     "Content-Length"};
    }
  }
  return std::nullopt;
}

}  // namespace greendot::protocol::http
