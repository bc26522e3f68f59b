#include "engine/embedded_engine.hpp"

#include "storage/memory_user_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace greendot::engine {
namespace {

// Records what would be fanned out, and in which order relative to join answers.
struct RecordingBroker : Broker {
  std::vector<std::string>* log;
  explicit RecordingBroker(std::vector<std::string>* l) : log(l) {}
  void publish(ChannelMessage message) override {
    // Frames are WebSocket frames; the text starts after a 2-byte header for short messages.
    log->push_back(
        message.channel + " " + message.frame->substr(2) + " except " + message.except.to_string() +
        (message.except_user.empty() ? "" : " except user " + message.except_user) +
        (message.joined_after == 0 ? ""
                                   : " to joins after " + std::to_string(message.joined_after)));
  }
};

// Records the webhook events, in order.
struct RecordingWebhooks : webhooks::WebhookSink {
  std::vector<std::string> events;
  void emit(core::AppIndex, webhooks::EventType, std::string event_json) override {
    events.push_back(std::move(event_json));
  }
  bool wants(core::AppIndex, webhooks::EventType) const override { return true; }
};

struct Fixture : ::testing::Test {
  std::vector<std::string> log;
  RecordingBroker broker{&log};
  RecordingWebhooks webhooks;
  core::Millis now = 0;
  storage::MemoryUserStore users;
  EmbeddedEngine engine{
      broker, webhooks, users, {"app"}, [this] { return now; }, [this] { return 1'000'000 + now; }};

  JoinOutcome join(std::string user, core::SessionId session, std::size_t max = 100) {
    JoinOutcome result;
    engine.join(JoinRequest{0, "presence-r", user, R"({"n":1})", session,
                            protocol::SocketId{1, static_cast<std::uint32_t>(session)}, max},
                [&](JoinOutcome o) {
                  log.push_back("answer " + std::to_string(session));
                  result = std::move(o);
                });
    return result;
  }
};

TEST_F(Fixture, JoinAnswersBeforeAnnouncing) {
  auto outcome = join("7", 1);
  EXPECT_TRUE(outcome.accepted());
  EXPECT_EQ(outcome.presence_data, R"({"presence":{"ids":["7"],"hash":{"7":{"n":1}},"count":1}})");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "answer 1");
  EXPECT_EQ(
      log[1],
      R"(presence-r {"event":"pusher_internal:member_added","channel":"presence-r","data":"{\"user_id\":\"7\",\"user_info\":{\"n\":1}}"} except 1.1)");
}

TEST_F(Fixture, SecondTabIsNotAnnounced) {
  join("7", 1);
  log.clear();
  join("7", 2);
  EXPECT_EQ(log, std::vector<std::string>{"answer 2"});
}

TEST_F(Fixture, FullChannelRefuses) {
  join("7", 1, 1);
  auto outcome = join("8", 2, 1);
  EXPECT_FALSE(outcome.accepted());
  EXPECT_EQ(outcome.status, JoinStatus::ChannelFull);
}

TEST_F(Fixture, GraceThenRemovalOnTick) {
  join("7", 1);
  log.clear();
  now = 1000;
  engine.leave(0, "presence-r", "7", 1, 500);
  EXPECT_TRUE(log.empty());
  engine.tick(1499);
  EXPECT_TRUE(log.empty());
  engine.tick(1500);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("member_removed"), std::string::npos);
  EXPECT_NE(log[0].find(R"(\"user_id\":\"7\")"), std::string::npos);
}

TEST_F(Fixture, NoGraceRemovesAtOnce) {
  join("7", 1);
  log.clear();
  engine.leave(0, "presence-r", "7", 1, 0);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("member_removed"), std::string::npos);
}

TEST_F(Fixture, WebhooksForPresenceHonourTheGrace) {
  join("7", 1);
  EXPECT_EQ(webhooks.events,
            (std::vector<std::string>{
                R"({"name":"channel_occupied","channel":"presence-r"})",
                R"({"name":"member_added","channel":"presence-r","user_id":"7"})"}));
  webhooks.events.clear();
  engine.leave(0, "presence-r", "7", 1, 500);
  join("7", 2);  // back inside the grace
  engine.tick(10000);
  EXPECT_TRUE(webhooks.events.empty()) << "a return inside the grace produces no webhook";
  engine.leave(0, "presence-r", "7", 2, 500);
  engine.tick(10000);
  EXPECT_EQ(
      webhooks.events,
      (std::vector<std::string>{R"({"name":"member_removed","channel":"presence-r","user_id":"7"})",
                                R"({"name":"channel_vacated","channel":"presence-r"})"}));
}

TEST_F(Fixture, JoinersAreNotGivenMembersInGraceAndHearOfTheirReturn) {
  join("7", 1);
  engine.leave(0, "presence-r", "7", 1, 3000);  // a reload, or gone: the grace will tell
  auto later = join("8", 2);
  EXPECT_EQ(later.presence_data, R"({"presence":{"ids":["8"],"hash":{"8":{"n":1}},"count":1}})");
  EXPECT_EQ(later.join_number, 2u);
  log.clear();
  auto back = join("7", 3);
  EXPECT_EQ(back.presence_data,
            R"({"presence":{"ids":["8","7"],"hash":{"8":{"n":1},"7":{"n":1}},"count":2}})");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(
      log[1],
      R"(presence-r {"event":"pusher_internal:member_added","channel":"presence-r","data":"{\"user_id\":\"7\",\"user_info\":{\"n\":1}}"} except 1.3 to joins after 1)")
      << "only to those who joined after the grace began (8), not to those who saw 7 stay";
  EXPECT_TRUE(webhooks.events.size() == 3u) << "the application never heard 7 leave";
}

TEST_F(Fixture, AChannelEmptiedAndMadeAgainListsOnlyItsNewMembers) {
  join("7", 1);
  engine.leave(0, "presence-r", "7", 1, 0);
  EXPECT_EQ(join("8", 2).presence_data,
            R"({"presence":{"ids":["8"],"hash":{"8":{"n":1}},"count":1}})");
  engine.leave(0, "presence-r", "8", 2, 500);
  engine.tick(500);  // removed after its grace: the channel is gone again
  EXPECT_EQ(join("9", 3).presence_data,
            R"({"presence":{"ids":["9"],"hash":{"9":{"n":1}},"count":1}})");
}

TEST_F(Fixture, CountsSubscriptionsOfEveryKind) {
  engine.subscribed(0, "news", 1, {});
  engine.subscribed(0, "news", 2, {});
  join("7", 1);
  std::vector<ChannelStats> stats;
  engine.channel_stats(0, {"news", "presence-r", "none"},
                       [&](Answer<std::vector<ChannelStats>> s) { stats = std::move(s.value()); });
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].subscription_count, 2u);
  EXPECT_TRUE(stats[0].occupied);
  EXPECT_EQ(stats[1].subscription_count, 1u);
  EXPECT_EQ(stats[1].user_count, 1u);
  EXPECT_FALSE(stats[2].occupied);
  engine.unsubscribed(0, "news", 1, 0);
  engine.unsubscribed(0, "news", 2, 0);
  std::vector<ChannelListing> listing;
  engine.list_channels(
      0, "", [&](Answer<std::vector<ChannelListing>> l) { listing = std::move(l.value()); });
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0].name, "presence-r");
}

// ---- Heartbeat tabs ----

struct Heartbeats : Fixture {
  static constexpr core::Millis kTtl = 60000;
  HeartbeatAnswer ping(const std::string& tab, std::optional<UserStatus> status = {}) {
    std::vector<HeartbeatAnswer> answers;
    engine.heartbeat(HeartbeatRequest{0, status, tab, {"presence-r"}, "7", "{}", kTtl, 0, 100},
                     [&](std::vector<HeartbeatAnswer> a) { answers = std::move(a); });
    EXPECT_EQ(answers.size(), 1u);
    return answers.empty() ? HeartbeatAnswer::Full : answers[0];
  }
  void offline(const std::string& tab) {
    engine.heartbeat_offline(HeartbeatOffline{0, "7", "presence-r", tab, 0, kTtl}, [] {});
  }
  std::size_t count(const std::string& what) const {
    std::size_t n = 0;
    for (const auto& line : log) n += line.find(what) != std::string::npos;
    return n;
  }
};

TEST_F(Heartbeats, OneTabsOfflineKeepsTheUserWhileAnotherTabPings) {
  EXPECT_EQ(ping("tab-a"), HeartbeatAnswer::Present);
  EXPECT_EQ(ping("tab-b"), HeartbeatAnswer::Present);
  EXPECT_EQ(count("member_added"), 1u);
  offline("tab-a");
  EXPECT_EQ(count("member_removed"), 0u) << "tab-b is still open";
  offline("tab-b");
  EXPECT_EQ(count("member_removed"), 1u) << "the last tab said goodbye";
}

TEST_F(Heartbeats, ALatePingFromAnEndedTabDoesNotBringItBack) {
  ping("tab-a");
  offline("tab-a");
  ASSERT_EQ(count("member_removed"), 1u);
  now = 100;
  EXPECT_EQ(ping("tab-a"), HeartbeatAnswer::TabEnded);
  EXPECT_EQ(count("member_added"), 1u) << "not announced again";
  EXPECT_EQ(ping("tab-c"), HeartbeatAnswer::Present) << "a new tab (a new page) is welcome";
  offline("tab-c");
  EXPECT_EQ(ping("tab-c"), HeartbeatAnswer::TabEnded);
  now = 200 + kTtl;
  engine.tick(now);
  EXPECT_EQ(ping("tab-c"), HeartbeatAnswer::Present) << "remembered for one TTL, not forever";
}

TEST_F(Heartbeats, PingsWithoutATabKeepTheirMeaning) {
  ping("");
  ping("");
  engine.heartbeat_offline(HeartbeatOffline{0, "7", "", std::nullopt, 0, kTtl}, [] {});
  EXPECT_EQ(count("member_removed"), 1u);
  EXPECT_EQ(ping(""), HeartbeatAnswer::Present) << "no tab, nothing to remember";
}

// ---- Status per session ----

TEST_F(Heartbeats, TheUserIsAwayOnlyWhenEverySessionIsAway) {
  join("7", 1);
  join("7", 2);
  log.clear();
  engine.set_status(0, "7", 1, UserStatus::Away);
  EXPECT_EQ(count("member_updated"), 0u) << "session 2 is still online";
  engine.set_status(0, "7", 2, UserStatus::Away);
  ASSERT_EQ(count("member_updated"), 1u);
  EXPECT_NE(log.back().find(R"(\"status\":\"away\")"), std::string::npos) << log.back();
  EXPECT_NE(log.back().find("except user 7"), std::string::npos) << "to the others only";
  engine.set_status(0, "7", 2, UserStatus::Away);
  EXPECT_EQ(count("member_updated"), 1u) << "no change, no event";
  engine.set_status(0, "7", 1, UserStatus::Online);
  ASSERT_EQ(count("member_updated"), 2u);
  EXPECT_NE(log.back().find(R"(\"status\":\"online\")"), std::string::npos) << log.back();
}

TEST_F(Heartbeats, AClosingAwayTabDoesNotTurnTheUserAway) {
  join("7", 1);
  join("7", 2);
  log.clear();
  engine.set_status(0, "7", 2, UserStatus::Away);
  engine.leave(0, "presence-r", "7", 2, 0);
  EXPECT_EQ(count("member_updated"), 0u);
  std::vector<UserPresence> presence;
  engine.users_presence(
      0, {"7"}, [&](Answer<std::vector<UserPresence>> p) { presence = std::move(p.value()); });
  ASSERT_EQ(presence.size(), 1u);
  EXPECT_EQ(presence[0].status, UserStatus::Online);
}

TEST_F(Heartbeats, AnAwayTabAndAVisibleConnectionAreOnline) {
  join("7", 1);
  log.clear();
  ping("tab-a", UserStatus::Away);
  EXPECT_EQ(count("member_updated"), 0u) << "the connection is online";
  engine.leave(0, "presence-r", "7", 1, 0);
  ASSERT_EQ(count("member_updated"), 1u) << "only the away tab is left";
  ping("tab-a", UserStatus::Online);
  EXPECT_EQ(count("member_updated"), 2u);
}

// ---- Sign-in grace ----

TEST_F(Fixture, AReloadOfASignedInPageIsInvisibleToWatchers) {
  std::vector<std::string> online;
  engine.watch(0, "w", {"7"}, [&](std::vector<std::string> o) { online = std::move(o); });
  engine.signed_in(0, "7", 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("online"), std::string::npos);
  log.clear();
  now = 1000;
  engine.signed_out(0, "7", 1, 3000);
  now = 1080;
  engine.tick(now);
  engine.signed_in(0, "7", 2);
  EXPECT_TRUE(log.empty()) << "no offline then online within 100 ms";
  engine.signed_out(0, "7", 2, 3000);
  engine.tick(5000);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("offline"), std::string::npos);
  EXPECT_EQ(users.get("app", "7").last_seen_ms, 1'001'080) << "when the last connection ended";
}

// ---- Invisible ----

TEST_F(Fixture, GoingInvisibleLooksLikeLeavingAtThatMoment) {
  join("7", 1);
  engine.leave(0, "presence-r", "7", 1, 0);  // an earlier session ends at wall 1,000,000
  now = 2000;
  join("7", 2);
  now = 5000;
  engine.update_privacy(0, "7", PrivacyChange{storage::Visibility::Nobody, {}},
                        [](Answer<storage::Privacy>) {});
  EXPECT_EQ(users.get("app", "7").last_seen_ms, 1'005'000)
      << "others see the user leave now, so last seen is now, not the previous session";
  now = 9000;
  engine.leave(0, "presence-r", "7", 2, 0);
  EXPECT_EQ(users.get("app", "7").last_seen_ms, 1'005'000) << "time invisible is not recorded";
}

// ---- Shutdown ----

TEST_F(Fixture, ShutDownRecordsLastSeenAndTellsTheApplication) {
  engine.subscribed(0, "news", 3, {});
  join("7", 1);
  engine.signed_in(0, "8", 2);
  webhooks.events.clear();
  now = 7000;
  engine.shut_down();
  std::sort(webhooks.events.begin() + 1, webhooks.events.end());
  EXPECT_EQ(
      webhooks.events,
      (std::vector<std::string>{R"({"name":"member_removed","channel":"presence-r","user_id":"7"})",
                                R"({"name":"channel_vacated","channel":"news"})",
                                R"({"name":"channel_vacated","channel":"presence-r"})"}))
      << "the channels' order is the hash maps'";
  EXPECT_EQ(users.get("app", "7").last_seen_ms, 1'007'000);
  EXPECT_EQ(users.get("app", "8").last_seen_ms, 1'007'000);
  webhooks.events.clear();
  log.clear();
  EXPECT_EQ(join("9", 3).status, JoinStatus::Unavailable)
      << "a join after the shutdown is refused as retryable, not as a full channel";
  std::vector<HeartbeatAnswer> answers;
  engine.heartbeat(HeartbeatRequest{0, {}, "", {"presence-r"}, "9", "{}", 1000, 0, 100},
                   [&](std::vector<HeartbeatAnswer> a) { answers = std::move(a); });
  EXPECT_EQ(answers, std::vector<HeartbeatAnswer>{HeartbeatAnswer::Unavailable});
  log.clear();
  engine.leave(0, "presence-r", "7", 1, 0);
  engine.tick(100000);
  EXPECT_TRUE(webhooks.events.empty()) << "the connections closing after it change nothing";
  EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace greendot::engine
