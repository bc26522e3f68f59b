// The contract about HTTP heartbeats, run against every engine: a tab's pings may reach any
// node and are one session, a tab that said offline is not brought back by a late ping, and a
// session without pings ends on its TTL with member_removed once, on every node.
#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

class HeartbeatContract : public EngineContract {
 protected:
  // A ping, sent again while a channel's answer is Unavailable (faults()), as a page does.
  std::vector<HeartbeatAnswer> ping(int node, const std::string& user, const std::string& tab,
                                    std::vector<std::string> channels, core::Millis ttl = 60000,
                                    core::Millis grace = 0, std::size_t max = 100) {
    for (int attempt = 1;; ++attempt) {
      auto answer = std::make_shared<std::promise<std::vector<HeartbeatAnswer>>>();
      auto future = answer->get_future();
      deployment_->node(node).heartbeat(
          HeartbeatRequest{0, std::nullopt, tab, channels, user, R"({"h":1})", ttl, grace, max},
          [answer](std::vector<HeartbeatAnswer> a) { answer->set_value(std::move(a)); });
      EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
      auto answers = future.get();
      if (!faults() || attempt == kAttempts ||
          std::find(answers.begin(), answers.end(), HeartbeatAnswer::Unavailable) ==
              answers.end()) {
        return answers;
      }
    }
  }
  void say_offline(int node, const std::string& user, const std::string& channel,
                   std::optional<std::string> tab) {
    auto applied = std::make_shared<std::promise<void>>();
    auto future = applied->get_future();
    deployment_->node(node).heartbeat_offline(
        HeartbeatOffline{0, user, channel, std::move(tab), 0, 60000},
        [applied] { applied->set_value(); });
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  }
  static constexpr HeartbeatAnswer kPresent = HeartbeatAnswer::Present;
};

TEST_P(HeartbeatContract, PingsOfOneTabThroughEitherNodeAreOneSession) {
  // Subscribers on both nodes hear of the heartbeat member.
  ASSERT_TRUE(join(0, "b", 1, 100, "presence-h").accepted());
  ASSERT_TRUE(join(1, "c", 2, 100, "presence-h").accepted());
  EXPECT_EQ(ping(0, "a", "tab1", {"presence-h"}), std::vector<HeartbeatAnswer>{kPresent});
  EXPECT_EQ(ping(1, "a", "tab1", {"presence-h"}), std::vector<HeartbeatAnswer>{kPresent});
  EXPECT_EQ(ping(0, "a", "tab1", {"presence-h"}), std::vector<HeartbeatAnswer>{kPresent});
  ASSERT_TRUE(eventually(
      [&] { return count(0, "presence-h added a") == 1 && count(1, "presence-h added a") == 1; }));
  // Told by the user's record, written after the channel's event (its second step).
  ASSERT_TRUE(eventually([&] { return online(1, "a"); }));
  auto joiner = join(1, "d", 3, 100, "presence-h");
  EXPECT_EQ(ids(joiner), (std::vector<std::string>{"a", "b", "c", "d"}));
  // The tab says goodbye through the other node: gone at once (no grace), and a ping it sent
  // before, delivered late, does not bring it back.
  say_offline(1, "a", "presence-h", "tab1");
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-h removed a") == 1 && count(1, "presence-h removed a") == 1;
  }));
  EXPECT_EQ(ping(0, "a", "tab1", {"presence-h"}),
            std::vector<HeartbeatAnswer>{HeartbeatAnswer::TabEnded});
  EXPECT_EQ(count(0, "presence-h added a"), 1u);
  EXPECT_EQ(deployment_->webhooks.count(R"("member_added","channel":"presence-h","user_id":"a")"),
            1u);
}

TEST_P(HeartbeatContract, TwoTabsAreOneMemberUntilBothEnd) {
  ASSERT_TRUE(join(1, "b", 1, 100, "presence-h").accepted());
  EXPECT_EQ(ping(0, "a", "t1", {"presence-h"}), std::vector<HeartbeatAnswer>{kPresent});
  EXPECT_EQ(ping(1, "a", "t2", {"presence-h"}), std::vector<HeartbeatAnswer>{kPresent});
  say_offline(0, "a", "presence-h", "t1");
  ASSERT_TRUE(eventually([&] { return count(1, "presence-h added a") == 1; }));
  // Posted to node 0 before this join, the first tab's offline has been applied when the join
  // is answered: one tab is left, and the user is still a member.
  auto joiner = join(0, "c", 2, 100, "presence-h");
  EXPECT_EQ(ids(joiner), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(count(1, "presence-h removed a"), 0u);
  say_offline(1, "a", "presence-h", "t2");
  ASSERT_TRUE(eventually([&] { return count(1, "presence-h removed a") == 1; }));
  EXPECT_EQ(count(1, "presence-h added a"), 1u);
}

TEST_P(HeartbeatContract, ASessionWithoutPingsEndsOnItsTtlOnce) {
  ASSERT_TRUE(join(0, "b", 1, 100, "presence-h").accepted());
  ASSERT_TRUE(join(1, "c", 2, 100, "presence-h").accepted());
  EXPECT_EQ(ping(1, "a", "t", {"presence-h"}, 300), std::vector<HeartbeatAnswer>{kPresent});
  ASSERT_TRUE(eventually([&] { return count(0, "presence-h added a") == 1; }));
  ASSERT_TRUE(eventually(
      [&] {
        return count(0, "presence-h removed a") == 1 && count(1, "presence-h removed a") == 1;
      },
      10000ms));
  ASSERT_TRUE(eventually([&] { return !online(0, "a"); }));
  EXPECT_EQ(deployment_->webhooks.count(R"("member_removed","channel":"presence-h","user_id":"a")"),
            1u);
}

TEST_P(HeartbeatContract, AnOfflineWithoutContextOrTabEndsEveryHeartbeatOfTheUser) {
  ASSERT_TRUE(join(0, "b", 1, 100, "presence-h").accepted());
  ASSERT_TRUE(join(0, "b", 2, 100, "presence-i").accepted());
  EXPECT_EQ(ping(1, "a", "t1", {"presence-h", "presence-i"}),
            (std::vector<HeartbeatAnswer>{kPresent, kPresent}));
  EXPECT_EQ(ping(1, "a", "t2", {"presence-h"}), std::vector<HeartbeatAnswer>{kPresent});
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-h added a") == 1 && count(0, "presence-i added a") == 1 &&
           online(0, "a");
  }));
  say_offline(0, "a", "", std::nullopt);
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-h removed a") == 1 && count(0, "presence-i removed a") == 1;
  }));
  ASSERT_TRUE(eventually([&] { return !online(1, "a"); }));
}

TEST_P(HeartbeatContract, AFullChannelRefusesANewUsersPing) {
  ASSERT_TRUE(join(0, "b", 1, 1, "presence-h").accepted());
  EXPECT_EQ(ping(1, "a", "t", {"presence-h"}, 60000, 0, 1),
            std::vector<HeartbeatAnswer>{HeartbeatAnswer::Full});
}

// A node does not write a tab's expiry entry on every ping (recent_expiries.hpp). Redis forgets
// everything here without the nodes' connections closing (FLUSHALL), so the node still thinks
// the entry is there: the ping that begins the session again must write it, or the tab would
// be a member for ever.
TEST_P(HeartbeatContract, ATabBegunAgainAfterRedisForgotEverythingStillEndsOnItsTtl) {
  if (GetParam() == Kind::Embedded) GTEST_SKIP() << "about what Redis holds";
  EXPECT_EQ(ping(0, "a", "t", {"presence-h"}, 2000), std::vector<HeartbeatAnswer>{kPresent});
  ASSERT_TRUE(eventually([&] { return online(1, "a"); }));
  redis_command({"FLUSHALL"});
  EXPECT_EQ(ping(0, "a", "t", {"presence-h"}, 2000), std::vector<HeartbeatAnswer>{kPresent});
  ASSERT_TRUE(eventually([&] { return online(1, "a"); }));
  // Bounded for a sweep lost twice under FaultyRedis (each held 5 s by its claim).
  ASSERT_TRUE(eventually([&] { return offline(1, "a"); }, 20000ms));
}

INSTANTIATE_TEST_SUITE_P(Engines, HeartbeatContract,
                         ::testing::Values(Kind::Embedded, Kind::Redis, Kind::FaultyRedis),
                         kind_name);

}  // namespace
}  // namespace greendot::engine
