// What a call costs Redis: the scripts and commands a node sends for it, seen by a client in
// front of the real one (no faults, no delays). A join or a leave is its channel's script and
// one second step in the user's record carrying this node's part in their status; a repeat
// ping is one script; a tab's first ping or its offline adds its expiry entry.
#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

class RoundTrips : public EngineContract {
 protected:
  void SetUp() override {
    use_redis_through([this](int node) {
      auto options = no_faults();
      options.on_command = [this, node](std::string_view key,
                                        std::span<const std::string_view> args) {
        if (args.empty()) return;
        std::string name = args[0] == "EVALSHA" || args[0] == "EVAL"
                               ? FaultLog::script_name(args.size() > 1 ? args[1] : "")
                               : std::string(args[0]);
        std::lock_guard lock(mutex_);
        sent_.push_back(Sent{node, std::move(name), std::string(key)});
      };
      return options;
    });
  }

  // Whether what node 0 sent about keys of user "a", of `channel` and of the heartbeat expiry
  // partitions (their sweeps left out) is `expected` (sorted) once the engines have done what
  // they were doing; then forgotten.
  bool sent_by_node_0(const std::string& channel, const std::vector<std::string>& expected) {
    const bool as_expected = eventually([&] { return sent_so_far(channel) == expected; });
    EXPECT_EQ(sent_so_far(channel), expected);
    std::lock_guard lock(mutex_);
    sent_.clear();
    return as_expected;
  }
  std::vector<std::string> sent_so_far(const std::string& channel) {
    const std::string fragments[] = {"{app:u:a}", "{app:" + channel + "}", "{hb:app:"};
    std::vector<std::string> names;
    std::lock_guard lock(mutex_);
    for (const auto& sent : sent_) {
      if (sent.node != 0 || sent.name == "claim_dead_nodes") continue;
      for (const auto& fragment : fragments) {
        if (sent.key.find(fragment) != std::string::npos) {
          names.push_back(sent.name);
          break;
        }
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<HeartbeatAnswer> ping(const std::string& tab) {
    auto answer = std::make_shared<std::promise<std::vector<HeartbeatAnswer>>>();
    auto future = answer->get_future();
    deployment_->node(0).heartbeat(
        HeartbeatRequest{0, std::nullopt, tab, {"presence-h"}, "a", R"({"h":1})", 60000, 0, 100},
        [answer](std::vector<HeartbeatAnswer> a) { answer->set_value(std::move(a)); });
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }

 private:
  struct Sent {
    int node = 0;
    std::string name;
    std::string key;
  };
  std::mutex mutex_;
  std::vector<Sent> sent_;
};

TEST_P(RoundTrips, AMembersJoinAndLastLeaveAreTwoScriptsEach) {
  ASSERT_TRUE(join(0, "a", 1).accepted());
  ASSERT_TRUE(eventually([&] { return online(1, "a"); }));
  EXPECT_TRUE(sent_by_node_0("presence-r", {"join", "user_update"}));
  deployment_->node(0).leave(0, "presence-r", "a", 1, 0);
  ASSERT_TRUE(eventually([&] { return offline(1, "a"); }));
  EXPECT_TRUE(sent_by_node_0("presence-r", {"leave", "user_update"}));
}

TEST_P(RoundTrips, ARepeatPingIsOneScriptAndATabsFirstPingAndOfflineWriteItsEntry) {
  EXPECT_EQ(ping("t"), std::vector<HeartbeatAnswer>{HeartbeatAnswer::Present});
  ASSERT_TRUE(eventually([&] { return online(1, "a"); }));
  EXPECT_TRUE(sent_by_node_0("presence-h", {"ZADD", "heartbeat", "user_update"}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ping("t"), std::vector<HeartbeatAnswer>{HeartbeatAnswer::Present});
    EXPECT_TRUE(sent_by_node_0("presence-h", {"heartbeat"}));
  }
  auto applied = std::make_shared<std::promise<void>>();
  auto future = applied->get_future();
  deployment_->node(0).heartbeat_offline(HeartbeatOffline{0, "a", "presence-h", "t", 0, 60000},
                                         [applied] { applied->set_value(); });
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  ASSERT_TRUE(eventually([&] { return offline(1, "a"); }));
  EXPECT_TRUE(sent_by_node_0("presence-h", {"ZADD", "heartbeat_end", "user_update"}));
}

INSTANTIATE_TEST_SUITE_P(Redis, RoundTrips, ::testing::Values(Kind::Redis), kind_name);

}  // namespace
}  // namespace greendot::engine
