// The behaviour every presence engine promises, run against each: the embedded engine (one
// node, where "two nodes" are one process) and the Redis engine (two nodes sharing a real
// redis-server). Member lists, member events exactly once, sessions of one user, the grace,
// the member limit, counts and webhooks must not depend on where presence lives.
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/embedded_engine.hpp"
#include "engine/local_broker.hpp"
#include "engine/redis/redis_engine.hpp"
#include "redis/single_client.hpp"
#include "redis_test_server.hpp"
#include "storage/memory_user_store.hpp"

namespace greendot::engine {
namespace {

using namespace std::chrono_literals;

std::string frame_text(const std::string& frame) {
  return frame.substr(static_cast<unsigned char>(frame[1]) < 126 ? 2 : 4);
}

// What one node's subscribers would be sent, in order ("added 7", "removed 7", ...).
struct RecordingSink : MessageSink {
  std::mutex mutex;
  std::vector<std::string> seen;
  void deliver(std::shared_ptr<const ChannelMessage> message) override {
    auto json = boost::json::parse(frame_text(*message->frame)).as_object();
    const std::string event(json["event"].as_string());
    std::string line = message->channel + " " + event;
    if (event.ends_with("member_added") || event.ends_with("member_removed")) {
      auto data = boost::json::parse(json["data"].as_string()).as_object();
      line = message->channel + (event.ends_with("added") ? " added " : " removed ") +
             std::string(data["user_id"].as_string());
    }
    std::lock_guard lock(mutex);
    seen.push_back(line);
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex);
    return seen;
  }
  bool has(const std::string& line) {
    auto all = lines();
    return std::find(all.begin(), all.end(), line) != all.end();
  }
};

struct RecordingWebhooks : webhooks::WebhookSink {
  std::mutex mutex;
  std::vector<std::string> events;
  void emit(core::AppIndex, webhooks::EventType, std::string event_json) override {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event_json));
  }
  bool wants(core::AppIndex, webhooks::EventType) const override { return true; }
  std::size_t count(const std::string& needle) {
    std::lock_guard lock(mutex);
    return std::count_if(events.begin(), events.end(),
                         [&](const std::string& e) { return e.find(needle) != std::string::npos; });
  }
};

// Two nodes of one deployment, each with its own subscribers.
class Deployment {
 public:
  virtual ~Deployment() = default;
  virtual PresenceEngine& node(int i) = 0;
  virtual RecordingSink& sink(int i) = 0;
  virtual void housekeeping() {}
  RecordingWebhooks webhooks;
};

core::Millis steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class EmbeddedDeployment final : public Deployment {
 public:
  EmbeddedDeployment() { broker_.add_sink(sink_); }
  PresenceEngine& node(int) override { return engine_; }
  RecordingSink& sink(int) override { return sink_; }
  void housekeeping() override { engine_.tick(steady_ms()); }

 private:
  RecordingSink sink_;
  LocalBroker broker_;
  storage::MemoryUserStore users_;
  EmbeddedEngine engine_{broker_, webhooks, users_, {"app"}, steady_ms, steady_ms};
};

class RedisDeployment final : public Deployment {
 public:
  explicit RedisDeployment(std::uint16_t port) {
    const std::string prefix = "contract" + std::to_string(++deployments_) + ":";
    for (int i = 0; i < 2; ++i) {
      redis_engine::RedisEngineOptions options;
      options.key_prefix = prefix;
      options.node_lease = 3000ms;
      nodes_[i] = std::make_unique<redis_engine::RedisEngine>(
          [port](boost::asio::io_context& io) {
            return redis::SingleClient::create(
                io, redis::RedisEndpoint{false, "127.0.0.1", port, {}, std::nullopt, 0});
          },
          options, webhooks, std::vector<std::string>{"app"});
      nodes_[i]->add_sink(sinks_[i]);
      nodes_[i]->start();
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!(nodes_[0]->ready() && nodes_[1]->ready()) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  }
  PresenceEngine& node(int i) override { return *nodes_[i]; }
  RecordingSink& sink(int i) override { return sinks_[i]; }

 private:
  static inline int deployments_ = 0;
  RecordingSink sinks_[2];
  std::unique_ptr<redis_engine::RedisEngine> nodes_[2];
};

enum class Kind { Embedded, Redis };

class EngineContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::Redis) {
      redis_ = std::make_unique<RedisProcess>();
      redis_->SetUp();
      deployment_ = std::make_unique<RedisDeployment>(redis_->port);
    } else {
      deployment_ = std::make_unique<EmbeddedDeployment>();
    }
  }
  void TearDown() override {
    deployment_.reset();
    if (redis_) redis_->TearDown();
  }

  // Waits (bounded) for what an engine's threads make true.
  template <class Condition>
  bool eventually(Condition condition, std::chrono::milliseconds bound = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      deployment_->housekeeping();
      std::this_thread::sleep_for(1ms);  // polling an outcome, never a wait for an event
    }
    return true;
  }

  JoinOutcome join(int node, const std::string& user, core::SessionId session,
                   std::size_t max = 100, const std::string& channel = "presence-r") {
    auto answer = std::make_shared<std::promise<JoinOutcome>>();
    auto future = answer->get_future();
    deployment_->node(node).join(
        JoinRequest{0, channel, user, R"({"n":1})", session,
                    protocol::SocketId{1, static_cast<std::uint32_t>(session)}, max},
        [answer](JoinOutcome outcome) { answer->set_value(std::move(outcome)); });
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }

  static std::vector<std::string> ids(const JoinOutcome& outcome) {
    auto presence = boost::json::parse(outcome.presence_data).at("presence").as_object();
    std::vector<std::string> out;
    for (const auto& id : presence["ids"].as_array()) out.emplace_back(id.as_string());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::size_t count(int node, const std::string& line) {
    auto lines = deployment_->sink(node).lines();
    return std::count(lines.begin(), lines.end(), line);
  }

  struct RedisProcess : redis::testing::RedisServer {
    void TestBody() override {}
  };
  std::unique_ptr<RedisProcess> redis_;
  std::unique_ptr<Deployment> deployment_;
};

TEST_P(EngineContract, AJoinerIsGivenEveryMemberAndTheOthersAreToldOnce) {
  ASSERT_TRUE(join(0, "a", 1).accepted());
  auto second = join(1, "b", 2);
  ASSERT_TRUE(second.accepted());
  EXPECT_EQ(ids(second), (std::vector<std::string>{"a", "b"}));
  join(1, "sentinel", 3);
  ASSERT_TRUE(eventually([&] { return deployment_->sink(0).has("presence-r added sentinel"); }));
  EXPECT_EQ(count(0, "presence-r added b"), 1u);
  EXPECT_EQ(deployment_->webhooks.count(R"("member_added","channel":"presence-r","user_id":"b")"),
            1u);
}

TEST_P(EngineContract, OnlyTheLastSessionOfAUserLeaving) {
  join(0, "u", 1);
  join(1, "u", 2);
  join(0, "watcher", 3);
  deployment_->node(0).leave(0, "presence-r", "u", 1, 0);
  join(1, "sentinel", 4);
  ASSERT_TRUE(eventually([&] { return deployment_->sink(0).has("presence-r added sentinel"); }));
  EXPECT_EQ(count(0, "presence-r removed u"), 0u);
  deployment_->node(1).leave(0, "presence-r", "u", 2, 0);
  ASSERT_TRUE(eventually([&] { return deployment_->sink(0).has("presence-r removed u"); }));
  join(1, "sentinel-2", 5);
  ASSERT_TRUE(eventually([&] { return deployment_->sink(0).has("presence-r added sentinel-2"); }));
  EXPECT_EQ(count(0, "presence-r removed u"), 1u);
  EXPECT_EQ(count(1, "presence-r removed u"), 1u);
}

TEST_P(EngineContract, TheGraceCoversAReturnThroughAnotherNode) {
  join(0, "watcher", 9);  // a subscriber on node 0 to see what happens
  join(0, "g", 1);
  deployment_->node(0).leave(0, "presence-r", "g", 1, 300);
  ASSERT_TRUE(join(1, "g", 2).accepted());
  const auto grace_over = std::chrono::steady_clock::now() + 600ms;
  ASSERT_TRUE(eventually([&] { return std::chrono::steady_clock::now() > grace_over; }));
  join(1, "sentinel", 3);
  ASSERT_TRUE(eventually([&] { return deployment_->sink(0).has("presence-r added sentinel"); }));
  EXPECT_EQ(count(0, "presence-r removed g"), 0u);
  deployment_->node(1).leave(0, "presence-r", "g", 2, 300);
  EXPECT_TRUE(eventually([&] { return deployment_->sink(0).has("presence-r removed g"); }));
}

TEST_P(EngineContract, AFullChannelRefusesNewUsersButNotNewSessions) {
  ASSERT_TRUE(join(0, "a", 1, 1).accepted());
  EXPECT_EQ(join(1, "b", 2, 1).status, JoinStatus::ChannelFull);
  EXPECT_TRUE(join(1, "a", 3, 1).accepted());
}

TEST_P(EngineContract, CountsAreTheSameFromEveryNode) {
  deployment_->node(0).subscribed(0, "news", 1);
  deployment_->node(1).subscribed(0, "news", 2);
  join(1, "m", 3);
  for (int node = 0; node < 2; ++node) {
    std::vector<ChannelStats> stats;
    ASSERT_TRUE(eventually([&] {
      auto answer = std::make_shared<std::promise<Answer<std::vector<ChannelStats>>>>();
      auto future = answer->get_future();
      deployment_->node(node).channel_stats(
          0, {"news", "presence-r"},
          [answer](Answer<std::vector<ChannelStats>> s) { answer->set_value(std::move(s)); });
      auto got = future.get();
      if (!got) return false;
      stats = *got;
      return stats[0].subscription_count == 2;
    }));
    EXPECT_TRUE(stats[0].occupied);
    EXPECT_EQ(stats[1].subscription_count, 1u);
    EXPECT_EQ(stats[1].user_count, 1u);
  }
}

TEST_P(EngineContract, EachWebhookOnce) {
  join(0, "x", 1);
  join(1, "x", 2);
  deployment_->node(0).leave(0, "presence-r", "x", 1, 0);
  deployment_->node(1).leave(0, "presence-r", "x", 2, 0);
  auto& hooks = deployment_->webhooks;
  ASSERT_TRUE(eventually([&] { return hooks.count("channel_vacated") == 1; }));
  EXPECT_EQ(hooks.count("channel_occupied"), 1u);
  EXPECT_EQ(hooks.count("member_added"), 1u);
  EXPECT_EQ(hooks.count("member_removed"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineContract, ::testing::Values(Kind::Embedded, Kind::Redis),
                         [](const auto& info) {
                           return info.param == Kind::Embedded ? "Embedded" : "Redis";
                         });

}  // namespace
}  // namespace greendot::engine
