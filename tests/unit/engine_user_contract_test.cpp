// The contract about users rather than channels, run against every engine: whether a user is
// online, when they were last seen, their privacy, sign-ins and watchlists must be the same
// from every node, whichever node their sessions are on.
#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

class UserContract : public EngineContract {
 protected:
  // Sets the user's visibility through node `node` (asked again while it cannot, faults()).
  void set_visibility(int node, const std::string& user, storage::Visibility visibility) {
    Answer<storage::Privacy> set;
    for (int attempt = 1; !set && (attempt == 1 || (faults() && attempt <= kAttempts)); ++attempt) {
      auto answer = std::make_shared<std::promise<Answer<storage::Privacy>>>();
      auto future = answer->get_future();
      deployment_->node(node).update_privacy(
          0, user, PrivacyChange{visibility, std::nullopt},
          [answer](Answer<storage::Privacy> p) { answer->set_value(p); });
      ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
      set = future.get();
    }
    ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->visibility, visibility);
  }
  std::optional<ChannelStats> stats(int node, const std::string& channel) {
    for (int attempt = 1;; ++attempt) {
      auto answer = std::make_shared<std::promise<Answer<std::vector<ChannelStats>>>>();
      auto future = answer->get_future();
      deployment_->node(node).channel_stats(
          0, {channel},
          [answer](Answer<std::vector<ChannelStats>> s) { answer->set_value(std::move(s)); });
      auto got = future.get();
      if (got && got->size() == 1) return got->front();
      if (!faults() || attempt == kAttempts) return std::nullopt;
    }
  }
  std::optional<std::vector<std::string>> users_of(int node, const std::string& channel) {
    for (int attempt = 1;; ++attempt) {
      auto answer = std::make_shared<std::promise<Answer<std::vector<std::string>>>>();
      auto future = answer->get_future();
      deployment_->node(node).channel_users(
          0, channel, [answer](Answer<std::vector<std::string>> u) { answer->set_value(u); });
      auto got = future.get();
      if (got) {
        std::sort(got->begin(), got->end());
        return got;
      }
      if (!faults() || attempt == kAttempts) return std::nullopt;
    }
  }
  std::vector<std::string> watch(int node, const std::string& watcher,
                                 std::vector<std::string> users) {
    auto answer = std::make_shared<std::promise<std::vector<std::string>>>();
    auto future = answer->get_future();
    deployment_->node(node).watch(0, watcher, std::move(users),
                                  [answer](std::vector<std::string> o) { answer->set_value(o); });
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }
};

TEST_P(UserContract, OnlineWhileASessionOnAnyNodeIsAndLastSeenWhenTheLastEnded) {
  // A subscriber on node 0 to see what happens there (a node without one hears nothing).
  ASSERT_TRUE(join(0, "watcher", 9, 100, "presence-r").accepted());
  ASSERT_TRUE(join(0, "a", 1, 100, "presence-r").accepted());
  ASSERT_TRUE(join(1, "a", 2, 100, "presence-s").accepted());
  ASSERT_TRUE(eventually([&] { return online(0, "a") && online(1, "a"); }));
  EXPECT_FALSE(presence(0, "a")->recorded_last_seen_ms.has_value());
  deployment_->node(0).leave(0, "presence-r", "a", 1, 0);
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r removed a") == 1; }));
  EXPECT_TRUE(online(0, "a"));
  EXPECT_TRUE(online(1, "a"));
  // Last seen is a wall-clock time, and for the engine only a bounded skew from this clock.
  const std::int64_t before = unix_ms() - 1000;
  deployment_->node(1).leave(0, "presence-s", "a", 2, 0);
  ASSERT_TRUE(eventually([&] { return offline(0, "a") && offline(1, "a"); }));
  for (int node : {0, 1}) {
    auto p = presence(node, "a");
    ASSERT_TRUE(p && p->last_seen_ms) << node;
    EXPECT_GE(*p->last_seen_ms, before);
    EXPECT_LE(*p->last_seen_ms, unix_ms() + 1000);
    EXPECT_EQ(p->recorded_last_seen_ms, p->last_seen_ms);
  }
}

TEST_P(UserContract, AReturnInsideTheGraceOnAnotherNodeKeepsTheUserOnline) {
  EXPECT_TRUE(watch(1, "w", {"a"}).empty());
  ASSERT_TRUE(join(0, "a", 1).accepted());
  ASSERT_TRUE(eventually([&] { return count(1, "#watchlist:w online a") == 1; }));
  deployment_->node(0).leave(0, "presence-r", "a", 1, 60000);
  ASSERT_TRUE(join(1, "a", 2).accepted());
  EXPECT_TRUE(online(0, "a"));
  deployment_->node(1).leave(0, "presence-r", "a", 2, 0);
  ASSERT_TRUE(eventually([&] { return count(1, "#watchlist:w offline a") == 1; }));
  EXPECT_TRUE(offline(0, "a"));
  // Never offline in between: one arrival and one departure for the watcher.
  EXPECT_EQ(count(1, "#watchlist:w online a"), 1u);
}

TEST_P(UserContract, WatchersOnEveryNodeHearOnlineAndOfflineOnce) {
  EXPECT_TRUE(watch(1, "w1", {"a", "b"}).empty());
  EXPECT_TRUE(watch(0, "w0", {"a"}).empty());
  ASSERT_TRUE(join(0, "a", 1, 100, "presence-r").accepted());
  ASSERT_TRUE(join(1, "a", 2, 100, "presence-s").accepted());
  ASSERT_TRUE(eventually([&] {
    return count(1, "#watchlist:w1 online a") == 1 && count(0, "#watchlist:w0 online a") == 1;
  }));
  EXPECT_EQ(watch(1, "w2", {"a", "b"}), (std::vector<std::string>{"a"}));
  deployment_->node(0).leave(0, "presence-r", "a", 1, 0);
  deployment_->node(1).leave(0, "presence-s", "a", 2, 0);
  ASSERT_TRUE(eventually([&] {
    return count(1, "#watchlist:w1 offline a") == 1 && count(0, "#watchlist:w0 offline a") == 1 &&
           count(1, "#watchlist:w2 offline a") == 1;
  }));
  EXPECT_EQ(count(1, "#watchlist:w1 online a"), 1u);
  // Unwatched: told nothing more.
  deployment_->node(1).unwatch(0, "w1", {"a", "b"});
  deployment_->node(1).unwatch(0, "w2", {"a", "b"});
  ASSERT_TRUE(join(0, "a", 3).accepted());
  ASSERT_TRUE(eventually([&] { return count(0, "#watchlist:w0 online a") == 2; }));
  EXPECT_EQ(count(1, "#watchlist:w1 online a"), 1u);
  EXPECT_EQ(count(1, "#watchlist:w2 online a"), 0u);
}

TEST_P(UserContract, ASignedInUserIsOnlineOnEveryNodeWithoutAnyChannel) {
  EXPECT_TRUE(watch(1, "w", {"a"}).empty());
  deployment_->node(0).signed_in(0, "a", 7);
  ASSERT_TRUE(eventually([&] { return online(1, "a") && count(1, "#watchlist:w online a") == 1; }));
  deployment_->node(0).signed_out(0, "a", 7, 0);
  ASSERT_TRUE(
      eventually([&] { return offline(1, "a") && count(1, "#watchlist:w offline a") == 1; }));
  auto p = presence(0, "a");
  ASSERT_TRUE(p && p->last_seen_ms);
  // Sign-ins are no channel the application hears of.
  EXPECT_EQ(deployment_->webhooks.count("member_added"), 0u);
  EXPECT_EQ(deployment_->webhooks.count("channel_occupied"), 0u);
}

TEST_P(UserContract, LastSeenPrivacyIsTheSameFromEveryNode) {
  Answer<storage::Privacy> set;
  for (int attempt = 1; !set && (attempt == 1 || (faults() && attempt <= kAttempts)); ++attempt) {
    auto answer = std::make_shared<std::promise<Answer<storage::Privacy>>>();
    auto future = answer->get_future();
    deployment_->node(0).update_privacy(
        0, "a", PrivacyChange{std::nullopt, storage::LastSeenPrivacy::Hidden},
        [answer](Answer<storage::Privacy> p) { answer->set_value(p); });
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    set = future.get();
  }
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->last_seen, storage::LastSeenPrivacy::Hidden);
  EXPECT_EQ(set->visibility, storage::Visibility::Everyone);
  auto p = presence(1, "a");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->privacy.last_seen, storage::LastSeenPrivacy::Hidden);
}

// Invisible: in no one's member list but their own, not counted, told to no one, offline to
// watchers (with the last seen of the moment they went), wherever their sessions are and
// whichever node the change went through; visible again, they come back for everyone.
TEST_P(UserContract, AnInvisibleUserIsSeenByNoOneButThemselfOnEveryNode) {
  ASSERT_TRUE(join(0, "b", 1).accepted());  // subscribers on both nodes see what happens
  ASSERT_TRUE(join(1, "c", 2).accepted());
  EXPECT_TRUE(watch(0, "w", {"a"}).empty());
  ASSERT_TRUE(join(1, "a", 3).accepted());
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-r added a") == 1 && count(0, "#watchlist:w online a") == 1;
  }));
  set_visibility(1, "a", storage::Visibility::Nobody);
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-r removed a (not to a)") == 1 &&
           count(1, "presence-r removed a (not to a)") == 1 &&
           count(0, "#watchlist:w offline a") == 1;
  }));
  for (int node : {0, 1}) {
    ASSERT_TRUE(eventually([&] {
      auto s = stats(node, "presence-r");
      auto u = users_of(node, "presence-r");
      return s && s->user_count == 2 && u && *u == std::vector<std::string>{"b", "c"};
    })) << node;
  }
  auto p = presence(0, "a");
  ASSERT_TRUE(p && p->last_seen_ms);
  EXPECT_EQ(p->privacy.visibility, storage::Visibility::Nobody);
  // A second session of theirs, through the other node: their own list has them, no one
  // else's; nobody is told.
  ASSERT_TRUE(eventually([&] {
    return ids(join(0, "a", 4)) == std::vector<std::string>{"a", "b", "c"};
  }));
  EXPECT_EQ(ids(join(1, "d", 5)), (std::vector<std::string>{"b", "c", "d"}));
  // Their leaving is told to no one either; nor is a user who joins invisible.
  deployment_->node(1).leave(0, "presence-r", "a", 3, 0);
  ASSERT_TRUE(join(1, "e", 6).accepted());
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r added e") == 1; }));
  set_visibility(1, "f", storage::Visibility::Nobody);
  ASSERT_TRUE(join(1, "f", 7).accepted());
  ASSERT_TRUE(join(1, "g", 8).accepted());
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r added g") == 1; }));
  EXPECT_EQ(count(0, "presence-r added f"), 0u);
  EXPECT_EQ(count(0, "presence-r added a"), 1u);
  EXPECT_EQ(count(0, "presence-r removed a"), 0u);
  // Visible again (through the other node): everyone sees them arrive, once.
  set_visibility(0, "a", storage::Visibility::Everyone);
  ASSERT_TRUE(eventually([&] {
    return count(0, "presence-r added a (not to a)") == 1 &&
           count(1, "presence-r added a (not to a)") == 1 && count(0, "#watchlist:w online a") == 2;
  }));
  EXPECT_EQ(ids(join(1, "h", 9)), (std::vector<std::string>{"a", "b", "c", "d", "e", "g", "h"}));
}

// A node learns of a change of visibility made through another a moment later; a join through
// it meanwhile is corrected from the user's record, and the user ends hidden all the same.
TEST_P(UserContract, AJoinThroughANodeThatDidNotKnowYetEndsHiddenToo) {
  ASSERT_TRUE(join(0, "b", 1).accepted());
  set_visibility(0, "s", storage::Visibility::Nobody);
  ASSERT_TRUE(join(1, "s", 2).accepted());
  for (int node : {0, 1}) {
    ASSERT_TRUE(eventually([&] {
      auto u = users_of(node, "presence-r");
      auto st = stats(node, "presence-r");
      return u && *u == std::vector<std::string>{"b"} && st && st->user_count == 1;
    })) << node;
  }
  ASSERT_TRUE(join(1, "sentinel", 3).accepted());
  ASSERT_TRUE(eventually([&] { return count(0, "presence-r added sentinel") == 1; }));
  EXPECT_EQ(count(0, "presence-r added s"), count(0, "presence-r removed s (not to s)"));
  EXPECT_EQ(ids(join(0, "t", 4)), (std::vector<std::string>{"b", "sentinel", "t"}));
}

// Redis forgets everything here without the nodes' connections closing (FLUSHALL): the nodes
// write their sessions again, and the user's record, new, says the user came online. A watcher
// who never saw them leave hears nothing of it.
TEST_P(UserContract, AfterRedisForgotEverythingTheWatchersOfAUserWhoStayedHearNothing) {
  if (GetParam() == Kind::Embedded) GTEST_SKIP() << "about what Redis holds";
  EXPECT_TRUE(watch(1, "w", {"a", "b"}).empty());
  ASSERT_TRUE(join(0, "a", 1).accepted());
  ASSERT_TRUE(eventually([&] { return count(1, "#watchlist:w online a") == 1; }));
  redis_command({"FLUSHALL"});
  ASSERT_TRUE(eventually([&] { return online(1, "a"); }, 10000ms));
  // Told after whatever the re-assertion told: once it is heard, the other was too.
  ASSERT_TRUE(join(0, "b", 2).accepted());
  ASSERT_TRUE(eventually([&] { return count(1, "#watchlist:w online b") == 1; }));
  EXPECT_EQ(count(1, "#watchlist:w online a"), 1u);
  EXPECT_EQ(count(1, "#watchlist:w offline a"), 0u);
}

TEST_P(UserContract, ALeaveSentBeforeItsJoinWasAnsweredLeavesNoOneBehind) {
  // A client that subscribes and goes at once: the leave is sent while the join is in flight.
  auto answer = std::make_shared<std::promise<JoinOutcome>>();
  auto answered = answer->get_future();
  deployment_->node(0).join(
      JoinRequest{0, "presence-r", "a", "{}", 1, protocol::SocketId{1, 1}, 100},
      [answer](JoinOutcome outcome) { answer->set_value(std::move(outcome)); });
  deployment_->node(0).leave(0, "presence-r", "a", 1, 0);
  ASSERT_EQ(answered.wait_for(5s), std::future_status::ready);
  ASSERT_TRUE(join(0, "sentinel", 2).accepted());
  const std::vector<std::string> only_sentinel{"sentinel"};
  ASSERT_TRUE(eventually([&] { return users_of(0, "presence-r") == only_sentinel; }));
  ASSERT_TRUE(eventually([&] { return offline(0, "a") && offline(1, "a"); }));
  if (GetParam() == Kind::Embedded) return;
  // What node 0 holds is written back once Redis has forgotten everything, its sessions of a
  // channel together: a with the sentinel, were a still held.
  redis_command({"FLUSHALL"});
  ASSERT_TRUE(eventually(
      [&] {
        auto users = users_of(0, "presence-r");
        return users && !users->empty();
      },
      10000ms));
  EXPECT_EQ(users_of(0, "presence-r"), only_sentinel);
  EXPECT_TRUE(offline(0, "a"));
}

INSTANTIATE_TEST_SUITE_P(Engines, UserContract,
                         ::testing::Values(Kind::Embedded, Kind::Redis, Kind::FaultyRedis),
                         kind_name);

}  // namespace
}  // namespace greendot::engine
