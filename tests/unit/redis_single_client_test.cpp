// The client of one Redis server against a real redis-server: a subscription counts as
// listening only once Redis has confirmed it, from when every message published reaches the
// client, and again after the connection is made anew.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "redis/single_client.hpp"
#include "redis_test_server.hpp"

namespace greendot::redis {
namespace {

using namespace std::chrono_literals;

struct SingleClientTest : testing::RedisServer {
  std::shared_ptr<SingleClient> client;
  std::vector<std::string> told;  // on_listening, in order
  std::vector<std::string> heard;
  int ups = 0;

  void start_client() {
    ClientOptions options;
    options.first_backoff = 20ms;
    options.max_backoff = 200ms;
    client = SingleClient::create(io, RedisEndpoint{false, "127.0.0.1", port, {}, std::nullopt, 0},
                                  options);
    client->on_up([this] { ++ups; });
    client->on_listening([this](const std::string& channel) { told.push_back(channel); });
    client->on_message(
        [this](std::string_view, std::string_view payload) { heard.emplace_back(payload); });
    client->start();
  }
  void TearDown() override {
    if (client) client->stop();
    RedisServer::TearDown();
  }
  // PUBLISH from another connection: how many subscribers Redis handed it to.
  long long publish(const std::string& channel, const std::string& payload) {
    auto connection = connected();
    long long receivers = -1;
    const std::string_view args[] = {"PUBLISH", channel, payload};
    connection->command(args, [&](Result result) {
      if (auto* reply = std::get_if<Reply>(&result)) receivers = reply->integer;
    });
    EXPECT_TRUE(run_until([&] { return receivers >= 0; }));
    return receivers;
  }
};

TEST_F(SingleClientTest, ASubscriptionListensOnceConfirmedAndAgainAfterAReconnection) {
  start_client();
  ASSERT_TRUE(run_until([&] { return ups == 1; }));
  EXPECT_FALSE(client->listening("news"));
  client->subscribe("news");
  ASSERT_TRUE(run_until([&] { return client->listening("news"); }));
  EXPECT_EQ(told, std::vector<std::string>{"news"});
  // Confirmed: in place in Redis, so the very first message reaches the client.
  EXPECT_EQ(publish("news", "first"), 1);
  ASSERT_TRUE(run_until([&] { return heard.size() == 1; }));

  // The connection is cut (the server kills every client connection): not listening until the
  // new connection's subscription is confirmed, then told again.
  auto admin = connected();
  bool killed = false;
  const std::string_view kill[] = {"CLIENT", "KILL", "TYPE", "pubsub"};
  admin->command(kill, [&](Result) { killed = true; });
  ASSERT_TRUE(run_until([&] { return killed; }));
  ASSERT_TRUE(run_until([&] { return told.size() == 2; }));
  EXPECT_TRUE(client->listening("news"));
  EXPECT_EQ(publish("news", "second"), 1);

  client->unsubscribe("news");
  EXPECT_FALSE(client->listening("news"));
}

}  // namespace
}  // namespace greendot::redis
