// Where a Redis server is and how to log in: `redis://[user[:password]@]host[:port][/db]`
// (rediss:// for TLS), as managed Redis services and most clients write it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace greendot::redis {

struct RedisEndpoint {
  bool tls = false;
  std::string host;
  std::uint16_t port = 6379;
  std::string username;                 // empty: the default user
  std::optional<std::string> password;  // none: no AUTH
  int db = 0;
};

// The endpoint, or what is wrong with the URL (without the password in it).
std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url);

}  // namespace greendot::redis
