// RedisConnection against a real redis-server (Debian's 7.0), started by the test on a free
// loopback port: pipelining, replies in order, RESP3 push messages, error replies, and a
// server that dies with commands waiting.
#include "redis/connection.hpp"
#include "redis/redis_link.hpp"
#include "redis_test_server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

namespace greendot::redis {
namespace {

using namespace std::chrono_literals;

using testing::free_port;
using testing::RedisServer;

template <std::size_t N>
std::span<const std::string_view> args(const std::array<std::string_view, N>& a) {
  return a;
}

TEST_F(RedisServer, PipelinedCommandsGetTheirRepliesInOrder) {
  auto redis = connected();
  constexpr int kCommands = 2000;
  std::vector<std::string> got;
  for (int i = 0; i < kCommands; ++i) {
    // Appended: GCC 12 at -O3 reports a false -Wrestrict for "k" + std::to_string(...).
    const std::string number = std::to_string(i * 7 + 1000);
    const std::string key = std::string("k").append(number);
    const std::string value = std::string("v").append(number);
    redis->command(args(std::array<std::string_view, 3>{"SET", key, value}), [](Result) {});
    redis->command(args(std::array<std::string_view, 2>{"GET", key}),
                   [&](Result result) { got.push_back(std::get<Reply>(result).text); });
  }
  ASSERT_TRUE(run_until([&] { return got.size() == kCommands; }));
  for (int i = 0; i < kCommands; ++i) {
    EXPECT_EQ(got[i], std::string("v").append(std::to_string(i * 7 + 1000)));
  }
  EXPECT_EQ(redis->waiting(), 0u);
}

TEST_F(RedisServer, ValuesAreBinarySafeAndErrorsAreReplies) {
  auto redis = connected();
  const std::string value("a\r\nb\0c*2\r\n", 10);
  std::optional<Reply> read;
  std::optional<Reply> unknown;
  redis->command(args(std::array<std::string_view, 3>{"SET", "bin", value}), [](Result) {});
  redis->command(args(std::array<std::string_view, 2>{"GET", "bin"}),
                 [&](Result r) { read = std::get<Reply>(r); });
  redis->command(args(std::array<std::string_view, 1>{"NOSUCHCOMMAND"}),
                 [&](Result r) { unknown = std::get<Reply>(r); });
  ASSERT_TRUE(run_until([&] { return read && unknown; }));
  EXPECT_EQ(read->text, value);
  EXPECT_TRUE(unknown->is_error());
  EXPECT_NE(unknown->text.find("unknown command"), std::string::npos) << unknown->text;
  EXPECT_TRUE(redis->open()) << "an error reply is not a failure of the connection";
}

TEST_F(RedisServer, RespThreeHelloAndPushMessagesOnTheSameConnection) {
  auto subscriber = connected();
  auto publisher = connected();
  std::optional<Reply> hello;
  std::vector<Reply> pushes;
  subscriber->on_push([&](Reply push) { pushes.push_back(std::move(push)); });
  subscriber->command(args(std::array<std::string_view, 2>{"HELLO", "3"}),
                      [&](Result r) { hello = std::get<Reply>(r); });
  subscriber->send(args(std::array<std::string_view, 2>{"SUBSCRIBE", "news"}));
  ASSERT_TRUE(run_until([&] { return hello && !pushes.empty(); }));
  ASSERT_EQ(hello->type, Reply::Type::Map);
  EXPECT_EQ(pushes[0].elements.at(0).text, "subscribe");
  std::optional<Reply> pong;
  // A regular command between pushes still gets its own reply.
  subscriber->command(args(std::array<std::string_view, 1>{"PING"}),
                      [&](Result r) { pong = std::get<Reply>(r); });
  publisher->command(args(std::array<std::string_view, 3>{"PUBLISH", "news", "hello"}),
                     [](Result) {});
  ASSERT_TRUE(run_until([&] { return pong && pushes.size() == 2; }));
  EXPECT_EQ(pong->text, "PONG");
  ASSERT_EQ(pushes[1].elements.size(), 3u);
  EXPECT_EQ(pushes[1].elements[0].text, "message");
  EXPECT_EQ(pushes[1].elements[1].text, "news");
  EXPECT_EQ(pushes[1].elements[2].text, "hello");
}

TEST_F(RedisServer, AServerThatDiesFailsEveryWaitingCommandOnce) {
  auto redis = connected();
  int failures = 0;
  bool answered = false;
  redis->command(args(std::array<std::string_view, 1>{"PING"}), [&](Result) { answered = true; });
  ASSERT_TRUE(run_until([&] { return answered; }));
  // Blocks until the server goes: a command still waiting when it does.
  for (int i = 0; i < 3; ++i) {
    redis->command(args(std::array<std::string_view, 3>{"BLPOP", "nothing", "0"}),
                   [&](Result r) { failures += std::holds_alternative<ConnectionError>(r); });
  }
  ASSERT_TRUE(run_until([&] { return redis->waiting() == 3; }));
  kill_server();
  ASSERT_TRUE(run_until([&] { return failures == 3; }));
  EXPECT_FALSE(redis->open());
  bool failed_at_once = false;
  redis->command(args(std::array<std::string_view, 1>{"PING"}),
                 [&](Result r) { failed_at_once = std::holds_alternative<ConnectionError>(r); });
  EXPECT_TRUE(failed_at_once) << "no waiting on a dead connection";
}

TEST_F(RedisServer, ConnectingToNothingFails) {
  auto redis = RedisConnection::create(io);
  std::optional<ConnectionError> error;
  bool done = false;
  redis->connect("127.0.0.1", free_port(), [&](std::optional<ConnectionError> e) {
    error = e;
    done = true;
  });
  ASSERT_TRUE(run_until([&] { return done; }));
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("cannot connect"), std::string::npos) << error->message;
}

TEST_F(RedisServer, ALinkComesBackAfterTheServerDoes) {
  auto endpoint =
      std::get<RedisEndpoint>(parse_redis_url("redis://127.0.0.1:" + std::to_string(port)));
  auto link = RedisLink::create(io, endpoint, RedisLink::Backoff{20ms, 200ms});
  int ups = 0;
  std::vector<std::string> downs;
  link->on_up([&] { ++ups; });
  link->on_down([&](const std::string& why) { downs.push_back(why); });
  link->start();
  ASSERT_TRUE(run_until([&] { return ups == 1; }));
  std::optional<Reply> pong;
  link->command(args(std::array<std::string_view, 1>{"PING"}),
                [&](Result r) { pong = std::get<Reply>(r); });
  ASSERT_TRUE(run_until([&] { return pong.has_value(); }));

  kill_server();
  ASSERT_TRUE(run_until([&] { return downs.size() == 1; }));
  EXPECT_FALSE(link->up());
  bool failed_at_once = false;
  link->command(args(std::array<std::string_view, 1>{"PING"}),
                [&](Result r) { failed_at_once = std::holds_alternative<ConnectionError>(r); });
  EXPECT_TRUE(failed_at_once) << "no waiting while the link is down";

  start_server();  // the same port: Redis restarted
  ASSERT_TRUE(run_until([&] { return ups == 2; })) << "reconnected and logged in again";
  pong.reset();
  link->command(args(std::array<std::string_view, 1>{"PING"}),
                [&](Result r) { pong = std::get<Reply>(r); });
  ASSERT_TRUE(run_until([&] { return pong.has_value(); }));
  EXPECT_EQ(pong->text, "PONG");
  EXPECT_EQ(link->connections_made(), 2u);
  EXPECT_EQ(downs.size(), 1u) << "failed attempts while the server was away are not downs";
  link->stop();
  EXPECT_FALSE(link->up());
}

// A restarted server has no scripts: a link that loads them as it connects has its EVALSHA
// answered at once and in order (a NOSCRIPT and a resend would let the next command overtake).
TEST_F(RedisServer, ALinkLoadsItsScriptsBeforeAnyCommandOfEachConnection) {
  const std::string script = "return redis.call('INCR', KEYS[1])";
  std::string sha;
  {
    auto redis = connected();
    redis->command(args(std::array<std::string_view, 3>{"SCRIPT", "LOAD", script}),
                   [&](Result r) { sha = std::get<Reply>(r).text; });
    ASSERT_TRUE(run_until([&] { return !sha.empty(); }));
  }
  auto endpoint =
      std::get<RedisEndpoint>(parse_redis_url("redis://127.0.0.1:" + std::to_string(port)));
  auto link = RedisLink::create(io, endpoint, RedisLink::Backoff{20ms, 200ms});
  link->load_scripts_on_connect(
      std::make_shared<const std::vector<std::string>>(std::vector<std::string>{script}));
  int ups = 0;
  link->on_up([&] { ++ups; });
  link->start();
  for (int round = 1; round <= 2; ++round) {
    if (round == 2) {
      kill_server();
      start_server();  // the same port, an empty script cache
    }
    ASSERT_TRUE(run_until([&] { return ups == round; }));
    std::vector<std::string> replies;
    link->command(args(std::array<std::string_view, 4>{"EVALSHA", sha, "1", "n"}),
                  [&](Result r) { replies.push_back(std::get<Reply>(r).text); });
    link->command(args(std::array<std::string_view, 2>{"INCR", "n"}),
                  [&](Result r) { replies.push_back(std::to_string(std::get<Reply>(r).integer)); });
    ASSERT_TRUE(run_until([&] { return replies.size() == 2; }));
    EXPECT_EQ(replies[1], "2") << "the script ran first: " << replies[0];
    EXPECT_EQ(replies[0].find("NOSCRIPT"), std::string::npos) << replies[0];
    if (round == 1) {
      link->command(args(std::array<std::string_view, 2>{"DEL", "n"}), [](Result) {});
    }
  }
  link->stop();
}

struct RedisWithLogins : RedisServer {
  std::vector<std::string> extra_args() const override {
    return {"--requirepass", "secret", "--user", "alice", "on", ">wonder", "~*", "&*", "+@all"};
  }
  // Logs in with `url`; the error, if any.
  std::optional<ConnectionError> log_in(const std::string& url,
                                        std::shared_ptr<RedisConnection>& out) {
    auto endpoint = parse_redis_url(url);
    EXPECT_TRUE(std::holds_alternative<RedisEndpoint>(endpoint));
    out = RedisConnection::create(io);
    std::optional<ConnectionError> error;
    bool done = false;
    out->connect(std::get<RedisEndpoint>(endpoint), [&](std::optional<ConnectionError> e) {
      error = e;
      done = true;
    });
    EXPECT_TRUE(run_until([&] { return done; }));
    return error;
  }
  std::string whoami(RedisConnection& redis) {
    std::string name;
    redis.command(args(std::array<std::string_view, 2>{"ACL", "WHOAMI"}),
                  [&](Result r) { name = std::get<Reply>(r).text; });
    EXPECT_TRUE(run_until([&] { return !name.empty(); }));
    return name;
  }
};

TEST_F(RedisWithLogins, TheUrlsCredentialsLogIn) {
  const std::string at = "@127.0.0.1:" + std::to_string(port);
  std::shared_ptr<RedisConnection> redis;
  ASSERT_FALSE(log_in("redis://:secret" + at, redis));
  EXPECT_EQ(whoami(*redis), "default");
  ASSERT_FALSE(log_in("redis://alice:wonder" + at, redis));
  EXPECT_EQ(whoami(*redis), "alice");
}

TEST_F(RedisWithLogins, AWrongPasswordIsAClearErrorAndClosesTheConnection) {
  std::shared_ptr<RedisConnection> redis;
  auto error = log_in("redis://alice:nope@127.0.0.1:" + std::to_string(port), redis);
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("WRONGPASS"), std::string::npos) << error->message;
  EXPECT_FALSE(redis->open());
  error = log_in("redis://127.0.0.1:" + std::to_string(port), redis);
  ASSERT_TRUE(error) << "no password for a server that wants one";
  EXPECT_NE(error->message.find("NOAUTH"), std::string::npos) << error->message;
}

TEST_F(RedisWithLogins, TheDatabaseOfTheUrlIsSelected) {
  const std::string base = "redis://:secret@127.0.0.1:" + std::to_string(port);
  std::shared_ptr<RedisConnection> in_three, in_zero;
  ASSERT_FALSE(log_in(base + "/3", in_three));
  ASSERT_FALSE(log_in(base, in_zero));
  bool set = false;
  in_three->command(args(std::array<std::string_view, 3>{"SET", "where", "three"}),
                    [&](Result) { set = true; });
  ASSERT_TRUE(run_until([&] { return set; }));
  std::optional<Reply> from_three, from_zero;
  in_three->command(args(std::array<std::string_view, 2>{"GET", "where"}),
                    [&](Result r) { from_three = std::get<Reply>(r); });
  in_zero->command(args(std::array<std::string_view, 2>{"GET", "where"}),
                   [&](Result r) { from_zero = std::get<Reply>(r); });
  ASSERT_TRUE(run_until([&] { return from_three && from_zero; }));
  EXPECT_EQ(from_three->text, "three");
  EXPECT_EQ(from_zero->type, Reply::Type::Null);
}

}  // namespace
}  // namespace greendot::redis
