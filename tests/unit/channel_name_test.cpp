#include "core/channel_name.hpp"

#include <gtest/gtest.h>

#include <string>

namespace greendot::core {
namespace {

TEST(ChannelName, KindsByPrefix) {
  EXPECT_EQ(classify_channel("news"), ChannelKind::Public);
  EXPECT_EQ(classify_channel("private-chat.1"), ChannelKind::Private);
  EXPECT_EQ(classify_channel("private-encrypted-x"), ChannelKind::Encrypted);
  EXPECT_EQ(classify_channel("presence-room.42"), ChannelKind::Presence);
  EXPECT_EQ(classify_channel("#server-to-user-12345"), ChannelKind::ServerToUser);
}

TEST(ChannelName, AllowedCharactersAndLength) {
  EXPECT_TRUE(classify_channel("a-Z_0=@,.;"));
  EXPECT_FALSE(classify_channel(""));
  EXPECT_FALSE(classify_channel("chat_room:42")) << "':' is not in Pusher's set";
  EXPECT_FALSE(classify_channel("with space"));
  EXPECT_FALSE(classify_channel("emoji-\xF0\x9F\x98\x80"));
  EXPECT_TRUE(classify_channel(std::string(164, 'a')));
  EXPECT_FALSE(classify_channel(std::string(165, 'a')));
}

TEST(ChannelName, HashOnlyForServerToUser) {
  EXPECT_FALSE(classify_channel("#other"));
  EXPECT_FALSE(classify_channel("#server-to-user-"));
  EXPECT_FALSE(classify_channel("#server-to-user-a#b"));
}

TEST(ChannelName, UserIds) {
  EXPECT_TRUE(valid_user_id("10", 128));
  EXPECT_FALSE(valid_user_id("", 128));
  EXPECT_FALSE(valid_user_id(std::string(129, 'a'), 128));
  EXPECT_FALSE(valid_user_id("a b", 128));
}

}  // namespace
}  // namespace greendot::core
