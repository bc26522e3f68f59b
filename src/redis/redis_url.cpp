#include "redis/redis_url.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace greendot::redis {

std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return std::string("not a URL: expected redis://[user[:password]@]host[:port][/db]");
  const auto& url = *parsed;
  RedisEndpoint endpoint;
  if (url.scheme() == "rediss") {
    endpoint.tls = true;
  } else if (url.scheme() != "redis") {
    return "the scheme must be redis:// or rediss://, not " + std::string(url.scheme()) + "://";
  }
  if (!url.has_authority() || url.encoded_host().empty()) return std::string("the URL has no host");
  // An IPv6 address comes in brackets; the socket wants it without.
  endpoint.host = url.host_type() == boost::urls::host_type::ipv6
                      ? url.host_ipv6_address().to_string()
                      : std::string(url.host());
  if (url.has_port()) {
    if (url.port_number() == 0) return std::string("the port must be 1 to 65535");
    endpoint.port = url.port_number();
  }
  if (url.has_userinfo()) {
    endpoint.username = url.user();
    if (url.has_password()) endpoint.password = url.password();
  }
  std::string_view path = url.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    int db = 0;
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc{} || end != path.data() + path.size() || db < 0) {
      return "the path must be a database number (/0 to /15 on a default server), not /" +
             std::string(path);
    }
    endpoint.db = db;
  }
  if (url.has_query() || url.has_fragment()) {
    return std::string("the URL must not have a query or a fragment");
  }
  return endpoint;
}

}  // namespace greendot::redis
