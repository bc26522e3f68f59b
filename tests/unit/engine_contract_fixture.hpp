// The fixture of the engine contract suites: deployments of two nodes (the embedded engine,
// where both "nodes" are one process; two Redis engines sharing a real redis-server; and the
// same two talking to it through a FaultyRedisClient, slow, out of order and losing commands),
// what each node's subscribers are sent, and the webhooks. A suite derives from EngineContract
// and is instantiated over every Kind, so that each promise is checked against every engine.
#pragma once

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/embedded_engine.hpp"
#include "engine/local_broker.hpp"
#include "engine/redis/heartbeat_scripts.hpp"
#include "engine/redis/redis_engine.hpp"
#include "engine/redis/redis_keys.hpp"
#include "engine/redis/redis_scripts.hpp"
#include "engine/redis/user_scripts.hpp"
#include "faulty_redis_client.hpp"
#include "redis/single_client.hpp"
#include "redis_test_server.hpp"
#include "storage/memory_user_store.hpp"

namespace greendot::engine {

using namespace std::chrono_literals;

inline std::string frame_text(const std::string& frame) {
  return frame.substr(static_cast<unsigned char>(frame[1]) < 126 ? 2 : 4);
}

// What one node's subscribers would be sent, in order ("presence-r added a", ...).
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
      // "presence-r removed a (not to a)": the user's own connections are left out.
      if (!message->except_user.empty()) {
        line.append(" (not to ").append(message->except_user).append(")");
      }
      // "presence-r added g (to later joiners)": only to those that joined after a number.
      if (message->joined_after != 0) line.append(" (to later joiners)");
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
  virtual Broker& broker(int i) = 0;  // what node i publishes with
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
  Broker& broker(int) override { return broker_; }
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
  // What node `node` talks to Redis through, made from the real client (a test's decorator of
  // it); none: the real client. `prefix` is the deployment's key prefix.
  using Wrap = std::function<std::shared_ptr<redis::RedisClient>(
      int node, const std::string& prefix, boost::asio::io_context& io,
      std::shared_ptr<redis::RedisClient> real)>;

  explicit RedisDeployment(std::uint16_t port, Wrap wrap = {}) {
    const std::string prefix = "contract" + std::to_string(++deployments_) + ":";
    for (int i = 0; i < 2; ++i) {
      redis_engine::RedisEngineOptions options;
      options.key_prefix = prefix;
      options.node_lease = 3000ms;
      nodes_[i] = std::make_unique<redis_engine::RedisEngine>(
          [port, wrap, i, prefix](boost::asio::io_context& io) {
            std::shared_ptr<redis::RedisClient> real = redis::SingleClient::create(
                io, redis::RedisEndpoint{false, "127.0.0.1", port, {}, std::nullopt, 0});
            return wrap ? wrap(i, prefix, io, std::move(real)) : real;
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
  Broker& broker(int i) override { return *nodes_[i]; }
  RecordingSink& sink(int i) override { return sinks_[i]; }

 private:
  static inline int deployments_ = 0;
  RecordingSink sinks_[2];
  std::unique_ptr<redis_engine::RedisEngine> nodes_[2];
};

// What a FaultyRedis deployment lost, for the report of a failed test: "12 ms node 1 join
// {app:presence-r}... ARGV ...", from the engines' threads.
struct FaultLog {
  std::mutex mutex;
  std::vector<std::string> lines;
  const std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();

  void add(int node, std::string_view key, std::span<const std::string_view> args) {
    if (args.empty()) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - since);
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "x" + string.
    std::string line = std::to_string(ms.count());
    line.append(" ms node ").append(std::to_string(node)).append(" ");
    std::size_t first_arg = 1;
    if ((args[0] == "EVALSHA" || args[0] == "EVAL") && args.size() >= 3) {
      line += script_name(args[1]);
      first_arg = 3 + std::strtoul(std::string(args[2]).c_str(), nullptr, 10);
    } else {
      line += args[0];
    }
    line.append(" ").append(key);
    for (std::size_t i = first_arg; i < args.size(); ++i) {
      line.append(" ").append(args[i].substr(0, 40));
    }
    std::lock_guard lock(this->mutex);
    lines.push_back(std::move(line));
  }
  // A script by its SHA1 (EVALSHA) or its text (EVAL); others by their SHA1's start (the key
  // says whose they are).
  static std::string script_name(std::string_view script) {
    using namespace redis_engine;
    for (const Script* known :
         {&join_script(), &leave_script(), &grace_end_script(), &sweep_channel_script(),
          &members_script(), &stats_script(), &register_node_script(), &refresh_node_script(),
          &claim_dead_nodes_script(), &heartbeat_script(), &heartbeat_end_script(),
          &user_membership_script(), &user_status_script(), &user_update_script(),
          &user_privacy_script(), &visibility_script()}) {
      if (known->sha1 == script || known->text == script) return std::string(known->name);
    }
    std::string unknown = "script ";
    return unknown.append(script.substr(0, 8));
  }
};

// The two Redis engines, each through a FaultyRedisClient: replies held up to 30 ms (in order
// within a hash slot only), messages up to 30 ms (in order), subscriptions handed on 30 ms
// late (what is published before is not heard), and `failure_probability` of the
// commands the engine notices losing lost before they are sent, from the first command on
// (the nodes' registrations too). Node i draws its faults from seed + i; `made` is told of
// each client (held weakly: each is its engine's, and goes with it).
inline RedisDeployment::Wrap faulty_clients(
    std::uint32_t seed, double failure_probability,
    std::vector<std::weak_ptr<redis::testing::FaultyRedisClient>>& made, FaultLog& log) {
  return [seed, failure_probability, &made, &log](int node, const std::string& prefix,
                                                  boost::asio::io_context& io,
                                                  std::shared_ptr<redis::RedisClient> real) {
    redis::testing::FaultOptions options;
    options.seed = seed + static_cast<std::uint32_t>(node);
    options.max_reply_delay = 30ms;
    options.max_message_delay = 30ms;
    options.subscribe_delay = 30ms;
    options.failure_probability = failure_probability;
    options.may_fail = [app_channels = redis_engine::RedisKeys(prefix).app_channels("app")](
                           std::string_view key, std::span<const std::string_view> args) {
      return redis::testing::redis_engine_notices_failure(app_channels, key, args);
    };
    options.on_failure = [&log, node](std::string_view key,
                                      std::span<const std::string_view> args) {
      log.add(node, key, args);
    };
    auto client = redis::testing::FaultyRedisClient::create(io, std::move(real), options);
    made.push_back(client);
    return client;
  };
}

enum class Kind { Embedded, Redis, FaultyRedis };

// Names the instantiations of a suite ("Engines/MySuite.Test/Embedded").
inline std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::Embedded:
      return "Embedded";
    case Kind::Redis:
      return "Redis";
    case Kind::FaultyRedis:
      return "FaultyRedis";
  }
  return "Unknown";
}

class EngineContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::Embedded) {
      deployment_ = std::make_unique<EmbeddedDeployment>();
      return;
    }
    redis_ = std::make_unique<RedisProcess>();
    redis_->SetUp();
    if (GetParam() == Kind::Redis) {
      deployment_ = std::make_unique<RedisDeployment>(redis_->port);
      return;
    }
    // GREENDOT_FAULT_SEED draws the faults of a failed run again; GREENDOT_FAULT_RATE, a
    // probability, loses more commands than the 3% of every run, to look harder.
    const char* seed = std::getenv("GREENDOT_FAULT_SEED");
    const char* rate = std::getenv("GREENDOT_FAULT_RATE");
    fault_seed_ =
        seed ? static_cast<std::uint32_t>(std::strtoul(seed, nullptr, 10)) : std::random_device{}();
    deployment_ = std::make_unique<RedisDeployment>(
        redis_->port,
        faulty_clients(fault_seed_, rate ? std::atof(rate) : 0.03, faulty_, fault_log_));
  }
  void TearDown() override {
    if (GetParam() == Kind::FaultyRedis && HasFailure()) {
      std::uint64_t failed = 0;
      for (const auto& weak : faulty_) {
        if (auto client = weak.lock()) failed += client->failures();
      }
      std::cout << "FaultyRedis: seed " << fault_seed_ << " (GREENDOT_FAULT_SEED=" << fault_seed_
                << " draws these faults again), " << failed << " commands failed:\n";
      std::lock_guard lock(fault_log_.mutex);
      for (const auto& line : fault_log_.lines) std::cout << "  " << line << "\n";
    }
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

  // Whether commands are lost on purpose here (FaultyRedis): an answer saying Redis could not
  // be reached is then asked again, as a client told to try again shortly does. Elsewhere such
  // an answer is one the test sees.
  bool faults() const { return GetParam() == Kind::FaultyRedis; }
  static constexpr int kAttempts = 10;

  JoinOutcome join_once(int node, const std::string& user, core::SessionId session,
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

  // A join, tried again with the same session while it is refused as Unavailable (faults()).
  JoinOutcome join(int node, const std::string& user, core::SessionId session,
                   std::size_t max = 100, const std::string& channel = "presence-r") {
    JoinOutcome outcome = join_once(node, user, session, max, channel);
    for (int attempt = 1;
         faults() && outcome.status == JoinStatus::Unavailable && attempt < kAttempts; ++attempt) {
      outcome = join_once(node, user, session, max, channel);
    }
    return outcome;
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

  // What node `node` answers about one user; nothing when it could not answer (asked again
  // while it cannot, with faults()).
  std::optional<UserPresence> presence(int node, const std::string& user) {
    for (int attempt = 1;; ++attempt) {
      auto answer = std::make_shared<std::promise<Answer<std::vector<UserPresence>>>>();
      auto future = answer->get_future();
      deployment_->node(node).users_presence(
          0, {user}, [answer](Answer<std::vector<UserPresence>> a) { answer->set_value(a); });
      if (future.wait_for(5s) != std::future_status::ready) return std::nullopt;
      auto users = future.get();
      if (users && users->size() == 1) return users->front();
      if (!faults() || attempt == kAttempts) return std::nullopt;
    }
  }
  bool online(int node, const std::string& user) {
    auto p = presence(node, user);
    return p && p->online;
  }
  bool offline(int node, const std::string& user) {
    auto p = presence(node, user);
    return p && !p->online;
  }

  // A Redis deployment whose nodes talk to Redis through FaultyRedisClients made with
  // options(node) (from no_faults(), for a test that only watches or holds commands); `made`
  // is told of each.
  using MadeClient =
      std::function<void(int node, std::shared_ptr<redis::testing::FaultyRedisClient>)>;
  void use_redis_through(std::function<redis::testing::FaultOptions(int node)> options,
                         MadeClient made = {}) {
    redis_ = std::make_unique<RedisProcess>();
    redis_->SetUp();
    deployment_ = std::make_unique<RedisDeployment>(
        redis_->port, [options = std::move(options), made = std::move(made)](
                          int node, const std::string&, boost::asio::io_context& io,
                          std::shared_ptr<redis::RedisClient> real) {
          auto client =
              redis::testing::FaultyRedisClient::create(io, std::move(real), options(node));
          if (made) made(node, client);
          return client;
        });
  }
  static redis::testing::FaultOptions no_faults() {
    redis::testing::FaultOptions options;
    options.max_reply_delay = 0ms;
    options.max_message_delay = 0ms;
    options.failure_probability = 0;
    return options;
  }

  // A command straight to the deployment's Redis, not through a node; answered when it returns.
  void redis_command(std::vector<std::string> args) {
    auto connection = redis_->connected();
    std::vector<std::string_view> views(args.begin(), args.end());
    bool answered = false;
    connection->command(views, [&](redis::Result) { answered = true; });
    ASSERT_TRUE(redis_->run_until([&] { return answered; }));
  }

  struct RedisProcess : redis::testing::RedisServer {
    void TestBody() override {}
  };
  std::unique_ptr<RedisProcess> redis_;
  std::uint32_t fault_seed_ = 0;
  std::vector<std::weak_ptr<redis::testing::FaultyRedisClient>> faulty_;
  FaultLog fault_log_;
  std::unique_ptr<Deployment> deployment_;
};

}  // namespace greendot::engine
