// A leave whose command is lost after a later join of its session was sent: the join stands for
// it, and the leave is neither sent again nor kept for later (either would end the session the
// join just wrote). Seen from a client: unsubscribe, subscribe again at once, and a lost link.
#include <atomic>

#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

class SupersededLeave : public EngineContract {
 protected:
  void SetUp() override {
    use_redis_through(
        [this](int node) {
          auto options = no_faults();
          if (node == 0) {
            // Node 0's first leave script is lost, its failure told when the test says.
            options.hold = [this](std::string_view, std::span<const std::string_view> args) {
              const bool leave =
                  args.size() > 1 && (args[0] == "EVALSHA" || args[0] == "EVAL") &&
                  FaultLog::script_name(args[1]) == redis_engine::leave_script().name;
              return leave && !held_one_.exchange(true);
            };
          }
          return options;
        },
        [this](int node, std::shared_ptr<redis::testing::FaultyRedisClient> client) {
          if (node == 0) node0_ = client;
        });
  }
  std::vector<std::string> users(int node) {
    auto answer = std::make_shared<std::promise<Answer<std::vector<std::string>>>>();
    auto future = answer->get_future();
    deployment_->node(node).channel_users(
        0, "presence-r", [answer](Answer<std::vector<std::string>> u) { answer->set_value(u); });
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    auto got = future.get();
    if (!got) return {"(no answer)"};
    std::sort(got->begin(), got->end());
    return *got;
  }

  std::atomic<bool> held_one_{false};
  // Held weakly: it is node 0's engine's, and goes with it.
  std::weak_ptr<redis::testing::FaultyRedisClient> node0_;
};

TEST_P(SupersededLeave, ALostLeaveDoesNotEndTheJoinSentAfterIt) {
  auto node0 = node0_.lock();
  ASSERT_TRUE(node0);
  ASSERT_TRUE(join(0, "a", 1).accepted());
  deployment_->node(0).leave(0, "presence-r", "a", 1, 0);
  ASSERT_TRUE(eventually([&] { return node0->held() == 1; }));
  ASSERT_TRUE(join(0, "a", 1).accepted()) << "the same connection subscribing again";
  node0->release_held();
  ASSERT_TRUE(eventually([&] { return node0->released() == 1; }));
  // Sent after whatever the failure made node 0 send: once it is in, that was done too.
  ASSERT_TRUE(join(0, "sentinel", 2).accepted());
  const std::vector<std::string> both{"a", "sentinel"};
  EXPECT_EQ(users(0), both);
  EXPECT_EQ(users(1), both);
  EXPECT_EQ(count(1, "presence-r removed a"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Redis, SupersededLeave, ::testing::Values(Kind::Redis), kind_name);

}  // namespace
}  // namespace greendot::engine
