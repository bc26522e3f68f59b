// The parts of an http:// URL that a client needs to send a request to it. Shared by the
// config loader (which rejects a bad webhook URL at start) and the webhook dispatcher (which
// connects to it), so that both agree on what a URL means.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace greendot::config {

struct HttpUrl {
  std::string host;         // to resolve: a name, or an IP address (IPv6 without brackets)
  std::uint16_t port = 80;  //
  std::string host_header;  // as written in the URL: host, and ":port" when one was given
  std::string target;       // path and query, "/" when the URL has no path
};

// Why a URL cannot be used; the message says what is wrong, without the URL itself.
struct BadUrl : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Accepts only http:// URLs with a host; throws BadUrl otherwise. The fragment is ignored, as a
// browser would.
HttpUrl parse_http_url(std::string_view url);

}  // namespace greendot::config
