// The fixture of the engine contract suites: deployments of two nodes (the embedded engine,
// where both "nodes" are one process, and two Redis engines sharing a real redis-server), what
// each node's subscribers are sent, and the webhooks. A suite derives from EngineContract and
// is instantiated over every Kind, so that each promise is checked against every engine.
#pragma once

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

using namespace std::chrono_literals;

inline std::string frame_text(const std::string& frame) {
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
    if (event == "greendot:member_updated") {  // "presence-r updated a away"
      auto data = boost::json::parse(json["data"].as_string()).as_object();
      // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "x" + string.
      line = message->channel;
      line.append(" updated ").append(data["user_id"].as_string());
      line.append(" ").append(data["status"].as_string());
    }
    if (event == "pusher_internal:watchlist_events") {  // "#watchlist:w online a"
      auto data = boost::json::parse(json["data"].as_string()).as_object();
      for (const auto& e : data["events"].as_array()) {
        line = message->channel;
        line.append(" ").append(e.at("name").as_string());
        for (const auto& id : e.at("user_ids").as_array()) line.append(" ").append(id.as_string());
      }
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

// Last seen is a wall-clock time (unix ms), as the server gives the embedded engine.
inline core::Millis unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline core::Millis steady_ms() {
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
  EmbeddedEngine engine_{broker_, webhooks, users_, {"app"}, steady_ms, unix_ms};
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

// Names the instantiations of a suite ("Engines/MySuite.Test/Embedded").
inline std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::Embedded ? "Embedded" : "Redis";
}

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

}  // namespace greendot::engine
