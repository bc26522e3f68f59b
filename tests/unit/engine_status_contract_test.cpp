// The contract about online / away, run against every engine: status belongs to each session
// (a connection, a heartbeat tab) wherever it is, a user is away when every session on every
// node is, and the other members are told once when that changes, the user themself never.
#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

class StatusContract : public EngineContract {
 protected:
  // The status of an online user, as node `node` answers it.
  std::optional<UserStatus> status(int node, const std::string& user) {
    auto p = presence(node, user);
    if (!p || !p->online) return std::nullopt;
    return p->status;
  }
  // A ping, sent again while it is answered Unavailable (faults()).
  void ping(int node, const std::string& user, const std::string& tab, UserStatus s) {
    for (int attempt = 1;; ++attempt) {
      auto answer = std::make_shared<std::promise<std::vector<HeartbeatAnswer>>>();
      auto future = answer->get_future();
      deployment_->node(node).heartbeat(
          HeartbeatRequest{0, s, tab, {"presence-r"}, user, "{}", 60000, 0, 100},
          [answer](std::vector<HeartbeatAnswer> a) { answer->set_value(std::move(a)); });
      ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
      const auto answers = future.get();
      ASSERT_EQ(answers.size(), 1u);
      if (answers[0] != HeartbeatAnswer::Unavailable || !faults() || attempt == kAttempts) {
        ASSERT_EQ(answers[0], HeartbeatAnswer::Present);
        return;
      }
    }
  }
  void away(int node, const std::string& user, core::SessionId session, bool is_away = true) {
    deployment_->node(node).set_status(0, user, session,
                                       is_away ? UserStatus::Away : UserStatus::Online);
  }
};

TEST_P(StatusContract, AwayOnlyWhenEverySessionOnEveryNodeIsAndToldOnce) {
  ASSERT_TRUE(join(0, "b", 10).accepted());
  ASSERT_TRUE(join(1, "c", 11).accepted());
  ASSERT_TRUE(join(0, "a", 1).accepted());
  ASSERT_TRUE(join(1, "a", 2).accepted());
  // Read through each node until it holds: each node's part of a's status is counted from
  // here on. Parts written by two nodes at once have no order between them, and a write lost
  // and sent again (FaultyRedis) may land after a read sent meanwhile.
  ASSERT_TRUE(eventually([&] { return status(0, "a") == UserStatus::Online; }));
  ASSERT_TRUE(eventually([&] { return status(1, "a") == UserStatus::Online; }));
  away(0, "a", 1);
  // One session of two is away: the user is not, and nobody is told anything.
  ASSERT_TRUE(eventually([&] { return status(1, "a") == UserStatus::Online; }));
  away(1, "a", 2);
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-r updated a away") == 1 && count(1, "presence-r updated a away") == 1;
  }));
  EXPECT_EQ(status(0, "a"), UserStatus::Away);
  EXPECT_EQ(status(1, "a"), UserStatus::Away);
  // Back on one node: online again for everyone, once.
  away(0, "a", 1, false);
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-r updated a online") == 1 &&
           count(1, "presence-r updated a online") == 1;
  }));
  EXPECT_EQ(status(1, "a"), UserStatus::Online);
  // The away session closing changes nothing for the others; the online one still holds.
  deployment_->node(1).leave(0, "presence-r", "a", 2, 0);
  ASSERT_TRUE(join(1, "sentinel", 12).accepted());
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r added sentinel") == 1; }));
  EXPECT_EQ(count(0, "presence-r updated a away"), 1u);
  EXPECT_EQ(count(0, "presence-r updated a online"), 1u);
  EXPECT_EQ(status(0, "a"), UserStatus::Online);
}

TEST_P(StatusContract, AHeartbeatTabCountsLikeAConnection) {
  ASSERT_TRUE(join(0, "b", 10).accepted());
  ASSERT_TRUE(join(1, "a", 1).accepted());
  ping(0, "a", "tab", UserStatus::Online);
  // Each node's part in place before the next step (see above).
  ASSERT_TRUE(eventually([&] { return status(0, "a") == UserStatus::Online; }));
  ASSERT_TRUE(eventually([&] { return status(1, "a") == UserStatus::Online; }));
  away(1, "a", 1);
  // The tab is online: the user is.
  ASSERT_TRUE(eventually([&] { return status(0, "a") == UserStatus::Online; }));
  ping(1, "a", "tab", UserStatus::Away);
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r updated a away") == 1; }));
  EXPECT_EQ(status(1, "a"), UserStatus::Away);
  // The tab's goodbye leaves the away connection: still away, nobody told otherwise.
  deployment_->node(0).heartbeat_offline(HeartbeatOffline{0, "a", "presence-r", "tab", 0, 60000},
                                         [] {});
  ASSERT_TRUE(join(1, "sentinel", 12).accepted());
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r added sentinel") == 1; }));
  EXPECT_EQ(count(0, "presence-r updated a online"), 0u);
  EXPECT_EQ(status(0, "a"), UserStatus::Away);
}

INSTANTIATE_TEST_SUITE_P(Engines, StatusContract,
                         ::testing::Values(Kind::Embedded, Kind::Redis, Kind::FaultyRedis),
                         kind_name);

}  // namespace
}  // namespace greendot::engine
