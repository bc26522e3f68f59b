// make_redis_client: which client the settings make, and the settings it refuses (naming the
// URL by its place, never showing its password).
#include "redis/make_client.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace greendot::redis {
namespace {

RedisSettings with(std::vector<std::string> urls, bool cluster = false, std::string ca_file = "") {
  RedisSettings settings;
  settings.urls = std::move(urls);
  settings.cluster = cluster;
  settings.tls.ca_file = std::move(ca_file);
  return settings;
}

std::string refusal(const RedisSettings& settings) {
  boost::asio::io_context io;
  try {
    make_redis_client(io, settings);
  } catch (const RedisSettingsError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(RedisMakeClient, OneUrlIsOneServerAndSeveralAreClusterSeeds) {
  boost::asio::io_context io;
  EXPECT_FALSE(make_redis_client(io, with({"redis://127.0.0.1:6379/2"}))->cluster());
  EXPECT_TRUE(make_redis_client(io, with({"redis://a:7000", "redis://b:7000"}))->cluster());
  EXPECT_TRUE(make_redis_client(io, with({"redis://config.example:6379"}, true))->cluster());
}

TEST(RedisMakeClient, RefusesWhatCannotWork) {
  EXPECT_EQ(refusal(with({})), "no Redis URL is given");
  const std::string bad = refusal(with({"redis://a:7000", "http://:hunter2@b:7000"}));
  EXPECT_NE(bad.find("Redis URL 2"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("hunter2"), std::string::npos) << bad;
  EXPECT_NE(refusal(with({"redis://a:7000/3", "redis://b:7000"})).find("only database 0"),
            std::string::npos);
  EXPECT_NE(refusal(with({"rediss://a:7000", "redis://b:7000"})).find("rediss://"),
            std::string::npos);
  const std::string no_ca = refusal(with({"rediss://a:7000"}, false, "/nonexistent/ca.pem"));
  EXPECT_NE(no_ca.find("TLS: cannot read the CA file"), std::string::npos) << no_ca;
  EXPECT_EQ(refusal(with({"redis://a:7000"}, false, "/nonexistent/ca.pem")), "accepted")
      << "TLS options matter only for rediss://";
}

}  // namespace
}  // namespace greendot::redis
