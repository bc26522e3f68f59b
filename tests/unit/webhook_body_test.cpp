// The bytes a webhook receiver sees: the body, its signature, and each event's JSON.
#include "webhooks/webhook_body.hpp"

#include <gtest/gtest.h>

#include "config/settings.hpp"
#include "webhooks/event_type_set.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::webhooks {
namespace {

// Pusher's documented example, checked with an independent HMAC implementation.
TEST(WebhookBody, MatchesThePusherVectorByteForByte) {
  const std::string body =
      webhook_body(1327078148132, {channel_event_json(EventType::ChannelOccupied, "my-channel")});
  EXPECT_EQ(
      body,
      R"({"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]})");
  EXPECT_EQ(webhook_signature("7ad3773142a6692b25b8", body),
            "c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf");
}

TEST(WebhookBody, JoinsSeveralEventsInOrder) {
  EXPECT_EQ(webhook_body(5, {R"({"a":1})", R"({"b":2})", R"({"c":3})"}),
            R"({"time_ms":5,"events":[{"a":1},{"b":2},{"c":3}]})");
  EXPECT_EQ(webhook_body(5, {}), R"({"time_ms":5,"events":[]})");
}

TEST(WebhookEvents, ChannelAndMemberEvents) {
  EXPECT_EQ(channel_event_json(EventType::ChannelVacated, "private-x"),
            R"({"name":"channel_vacated","channel":"private-x"})");
  EXPECT_EQ(member_event_json(EventType::MemberAdded, "presence-room.1", "7"),
            R"({"name":"member_added","channel":"presence-room.1","user_id":"7"})");
  EXPECT_EQ(member_event_json(EventType::MemberRemoved, "presence-\"q\"", "a\\b"),
            R"({"name":"member_removed","channel":"presence-\"q\"","user_id":"a\\b"})");
}

TEST(WebhookEvents, ClientEventCarriesDataAsAStringAndUserIdOnlyWhenKnown) {
  EXPECT_EQ(client_event_json("private-chat", "client-typing", R"({"x":1})", "123.456", ""),
            R"({"name":"client_event","channel":"private-chat","event":"client-typing",)"
            R"("data":"{\"x\":1}","socket_id":"123.456"})");
  EXPECT_EQ(client_event_json("presence-chat", "client-typing", "hi", "1.2", "42"),
            R"({"name":"client_event","channel":"presence-chat","event":"client-typing",)"
            R"("data":"hi","socket_id":"1.2","user_id":"42"})");
}

// The config loader validates names against its own list; both must agree.
TEST(WebhookEvents, TypeNamesAreTheConfigNames) {
  for (std::string_view name : config::kWebhookEventTypes) {
    const auto type = event_type_from_name(name);
    ASSERT_TRUE(type.has_value()) << name;
    EXPECT_EQ(event_type_name(*type), name);
  }
  EXPECT_EQ(event_type_from_name("cache_miss"), std::nullopt);
}

TEST(WebhookEvents, EventTypeSetFromNames) {
  const EventTypeSet set = EventTypeSet::from_names({"member_added", "client_event"});
  EXPECT_TRUE(set.contains(EventType::MemberAdded));
  EXPECT_TRUE(set.contains(EventType::ClientEvent));
  EXPECT_FALSE(set.contains(EventType::MemberRemoved));
  EXPECT_FALSE(set.contains(EventType::ChannelOccupied));
  EXPECT_TRUE(EventTypeSet().empty());
  EXPECT_TRUE(EventTypeSet::all().contains(EventType::ChannelVacated));
}

}  // namespace
}  // namespace greendot::webhooks
