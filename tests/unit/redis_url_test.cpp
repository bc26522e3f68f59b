#include "redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace greendot::redis {
namespace {

RedisEndpoint endpoint(std::string_view url) {
  auto parsed = parse_redis_url(url);
  if (auto* problem = std::get_if<std::string>(&parsed)) ADD_FAILURE() << url << ": " << *problem;
  return std::holds_alternative<RedisEndpoint>(parsed) ? std::get<RedisEndpoint>(parsed)
                                                       : RedisEndpoint{};
}

std::string problem(std::string_view url) {
  auto parsed = parse_redis_url(url);
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(RedisUrl, TheFormsInUse) {
  auto plain = endpoint("redis://localhost");
  EXPECT_EQ(plain.host, "localhost");
  EXPECT_EQ(plain.port, 6379);
  EXPECT_FALSE(plain.password);
  EXPECT_EQ(plain.db, 0);
  EXPECT_FALSE(plain.tls);

  auto full = endpoint("rediss://alice:s%40cret@cache.example.com:6380/2");
  EXPECT_TRUE(full.tls);
  EXPECT_EQ(full.username, "alice");
  EXPECT_EQ(full.password, "s@cret") << "percent-decoded";
  EXPECT_EQ(full.host, "cache.example.com");
  EXPECT_EQ(full.port, 6380);
  EXPECT_EQ(full.db, 2);

  auto password_only = endpoint("redis://:secret@10.0.0.5:7000");
  EXPECT_EQ(password_only.username, "");
  EXPECT_EQ(password_only.password, "secret");

  auto ipv6 = endpoint("redis://[::1]:7001/");
  EXPECT_EQ(ipv6.host, "::1");
  EXPECT_EQ(ipv6.port, 7001);
}

TEST(RedisUrl, MistakesAreNamed) {
  EXPECT_NE(problem("localhost:6379").find("scheme"), std::string::npos);
  EXPECT_NE(problem("http://localhost").find("redis://"), std::string::npos);
  EXPECT_NE(problem("redis://").find("no host"), std::string::npos);
  EXPECT_NE(problem("redis://localhost/x").find("database number"), std::string::npos);
  EXPECT_NE(problem("redis://localhost/-1").find("database number"), std::string::npos);
  EXPECT_NE(problem("redis://localhost:0").find("port"), std::string::npos);
  EXPECT_NE(problem("redis://localhost/0?timeout=1").find("query"), std::string::npos);
  EXPECT_EQ(problem("redis://u:hunter2@localhost/x").find("hunter2"), std::string::npos)
      << "the password is not repeated in the error";
}

}  // namespace
}  // namespace greendot::redis
