#include "engine/embedded_engine.hpp"

#include "storage/memory_user_store.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace greendot::engine {
namespace {

// Records what would be fanned out, and in which order relative to join answers.
struct RecordingBroker : Broker {
  std::vector<std::string>* log;
  explicit RecordingBroker(std::vector<std::string>* l) : log(l) {}
  void publish(ChannelMessage message) override {
    // Frames are WebSocket frames; the text starts after a 2-byte header for short messages.
    log->push_back(message.channel + " " + message.frame->substr(2) + " except " +
                   message.except.to_string());
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
  EXPECT_TRUE(outcome.accepted);
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
  EXPECT_FALSE(outcome.accepted);
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

TEST_F(Fixture, CountsSubscriptionsOfEveryKind) {
  engine.subscribed(0, "news");
  engine.subscribed(0, "news");
  join("7", 1);
  std::vector<ChannelStats> stats;
  engine.channel_stats(0, {"news", "presence-r", "none"},
                       [&](std::vector<ChannelStats> s) { stats = std::move(s); });
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].subscription_count, 2u);
  EXPECT_TRUE(stats[0].occupied);
  EXPECT_EQ(stats[1].subscription_count, 1u);
  EXPECT_EQ(stats[1].user_count, 1u);
  EXPECT_FALSE(stats[2].occupied);
  engine.unsubscribed(0, "news", 0);
  engine.unsubscribed(0, "news", 0);
  std::vector<ChannelListing> listing;
  engine.list_channels(0, "", [&](std::vector<ChannelListing> l) { listing = std::move(l); });
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0].name, "presence-r");
}

}  // namespace
}  // namespace greendot::engine
