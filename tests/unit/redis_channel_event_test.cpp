// The text format of what nodes tell each other on a channel's pub/sub channel.
#include "engine/redis/channel_event.hpp"

#include <gtest/gtest.h>

namespace greendot::engine::redis_engine {
namespace {

TEST(ChannelEvent, MemberEventsAsTheScriptsWriteThem) {
  // User ids may hold spaces and newlines: their length says where they end.
  auto event = parse_channel_event("a e1.4 12 123.456 5\nA b\ncC{\"n\":1}");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, ChannelEvent::Kind::MemberAdded);
  EXPECT_EQ(event->epoch, "e1.4");
  EXPECT_EQ(event->version, 12u);
  EXPECT_EQ(event->except, "123.456");
  EXPECT_EQ(event->user, "A b\nc");
  EXPECT_EQ(event->body, "C{\"n\":1}");

  auto gone = parse_channel_event("r e1.4 13 - 1\n7");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->kind, ChannelEvent::Kind::MemberRemoved);
  EXPECT_EQ(gone->except, "");
  EXPECT_EQ(gone->user, "7");

  auto hidden = parse_channel_event("h e1.4 14 - 1\n7");
  ASSERT_TRUE(hidden);
  EXPECT_EQ(hidden->kind, ChannelEvent::Kind::MemberHidden);
  auto shown = parse_channel_event("s e1.4 15 - 1\n7{}");
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->kind, ChannelEvent::Kind::MemberShown);
  EXPECT_EQ(shown->body, "{}");
}

TEST(ChannelEvent, MessagesRoundTrip) {
  const std::string text = R"({"event":"news","channel":"c","data":"x y\nz"})";
  auto message = parse_channel_event(encode_message("node1", "1.2", 5, "u 1", text));
  ASSERT_TRUE(message);
  EXPECT_EQ(message->kind, ChannelEvent::Kind::Message);
  EXPECT_EQ(message->origin, "node1");
  EXPECT_EQ(message->except, "1.2");
  EXPECT_EQ(message->joined_after, 5u);
  EXPECT_EQ(message->user, "u 1");
  EXPECT_EQ(message->body, text);
  auto plain = parse_channel_event(encode_message("n", "", 0, "", "{}"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->except, "");
  EXPECT_EQ(plain->user, "");
}

TEST(ChannelEvent, AnythingElseIsRefused) {
  for (const char* bad : {"", "a", "a e 1 - 1", "a e x - 1\nu", "a e 1 - 9\nu", "z e 1 - 0\n",
                          "a  1 - 0\n", "m  - 0 0\n", "m n - x 0\n", "a e 1 - -1\nu"}) {
    EXPECT_FALSE(parse_channel_event(bad)) << bad;
  }
}

TEST(ControlMessage, TerminateRoundTrips) {
  auto control = parse_control_message(encode_terminate("n1", "app-1", "user 7"));
  ASSERT_TRUE(control);
  EXPECT_EQ(control->origin, "n1");
  EXPECT_EQ(control->app_id, "app-1");
  EXPECT_EQ(control->user, "user 7");
  EXPECT_FALSE(parse_control_message("t n1 99\nabc"));
  EXPECT_FALSE(parse_control_message("x n1 1\nab"));
}

}  // namespace
}  // namespace greendot::engine::redis_engine
