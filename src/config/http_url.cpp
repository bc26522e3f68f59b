#include "config/http_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <system_error>

namespace greendot::config {

HttpUrl parse_http_url(std::string_view text) {
  const auto parsed = boost::urls::parse_uri(text);
  if (!parsed) throw BadUrl("is not a valid absolute URL (" + parsed.error().message() + ")");
  const boost::urls::url_view& url = *parsed;
  if (url.scheme_id() == boost::urls::scheme::https) {
    throw BadUrl("https webhooks are not supported yet; put a local proxy in front");
  }
  if (url.scheme_id() != boost::urls::scheme::http) {
    throw BadUrl("must be an http:// URL, got scheme \"" + std::string(url.scheme()) + "\"");
  }
  // Credentials in the URL would silently not be sent: say so instead.
  if (url.has_userinfo()) throw BadUrl("must not contain a user name or password");
  if (url.encoded_host().empty()) throw BadUrl("must have a host");

  HttpUrl result;
  result.host = url.host_address();
  if (url.has_port()) {
    // Parsed here: Boost.URL's port_number() wraps some values above 65535 instead of failing.
    const std::string_view port = url.port();
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || error != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      throw BadUrl("port must be between 1 and 65535, got \"" + std::string(port) + "\"");
    }
    result.port = static_cast<std::uint16_t>(value);
  }
  result.host_header = url.encoded_host_and_port();
  // Built by appending, not by inserting "/" at the front: GCC 12 at -O3 reports a false
  // -Wrestrict overlap for insert(0, ...).
  const std::string_view target = url.encoded_target();
  if (target.empty() || target.front() != '/') result.target.push_back('/');
  result.target.append(target);
  return result;
}

}  // namespace greendot::config
