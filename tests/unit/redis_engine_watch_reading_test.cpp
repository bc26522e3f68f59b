// A watch whose first reading of who is online cannot be made (Redis out of reach for the
// reading) is answered once it can, with the truth: never "nobody online" for "not known".
#include <future>

#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

class WatchReading : public EngineContract {
 protected:
  void SetUp() override {
    use_redis_through(
        [](int node) {
          auto options = no_faults();
          if (node == 1) {
            // Node 1 loses every reading of a user's record while failing is on.
            options.failure_probability = 1;
            options.may_fail = [](std::string_view, std::span<const std::string_view> args) {
              return !args.empty() && args[0] == "HGETALL";
            };
          }
          return options;
        },
        [this](int node, std::shared_ptr<redis::testing::FaultyRedisClient> client) {
          if (node == 1) node1_ = client;
        });
  }
  // Held weakly: it is node 1's engine's, and goes with it.
  std::weak_ptr<redis::testing::FaultyRedisClient> node1_;
};

TEST_P(WatchReading, AWatchIsAnsweredWhenItsReadingCanBeMadeWithWhoIsOnline) {
  auto node1 = node1_.lock();
  ASSERT_TRUE(node1);
  deployment_->node(0).signed_in(0, "a", 1);
  ASSERT_TRUE(eventually([&] { return online(0, "a"); }));

  auto answer = std::make_shared<std::promise<std::vector<std::string>>>();
  auto online_now = answer->get_future();
  deployment_->node(1).watch(0, "w", {"a"}, [answer](std::vector<std::string> users) {
    answer->set_value(std::move(users));
  });
  // Every reading fails, retried beyond the attempts of one: no answer yet.
  ASSERT_TRUE(eventually([&] { return node1->failures() >= 4; }));
  EXPECT_EQ(online_now.wait_for(0s), std::future_status::timeout)
      << "answered before anything could be read";
  node1->fail_commands(false);
  ASSERT_EQ(online_now.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(online_now.get(), std::vector<std::string>{"a"});
}

INSTANTIATE_TEST_SUITE_P(Redis, WatchReading, ::testing::Values(Kind::Redis), kind_name);

}  // namespace
}  // namespace greendot::engine
