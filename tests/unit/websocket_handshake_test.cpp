#include "protocol/websocket_handshake.hpp"

#include <gtest/gtest.h>

namespace greendot::protocol::websocket {
namespace {

// RFC 6455 §1.3 (also `openssl dgst -sha1 -binary | base64` of key + GUID).
TEST(WebSocketHandshake, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, AcceptKeyMatchesAnotherKnownPair) {
  EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(WebSocketHandshake, AcceptsKeysOfSixteenBytes) {
  EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(valid_client_key("+/+/+/+/+/+/+/+/+/+/zw=="));
}

TEST(WebSocketHandshake, RejectsKeysOfOtherLengthsOrAlphabets) {
  EXPECT_FALSE(valid_client_key(""));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));    // 23 characters
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));  // 25 characters
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));   // 18 bytes, no padding
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZ==="));   // 15 bytes
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZ-=="));   // URL-safe alphabet
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25j Q=="));   // space
  EXPECT_FALSE(valid_client_key(std::string_view("dGhlIHNhbXBsZSBub25j\0Q==", 24)));
}

}  // namespace
}  // namespace greendot::protocol::websocket
