// Test vectors from Pusher's auth-signatures documentation (reference.md §1.7).
#include "protocol/signature.hpp"

#include <gtest/gtest.h>

namespace greendot::protocol {
namespace {

constexpr std::string_view kKey = "278d425bdf160c739803";
constexpr std::string_view kSecret = "7ad3773142a6692b25b8";

TEST(Signature, PrivateChannelVector) {
  EXPECT_EQ(hmac_sha256_hex(kSecret, channel_string_to_sign("1234.1234", "private-foobar")),
            "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4");
}

TEST(Signature, PresenceChannelVector) {
  const std::string to_sign = presence_string_to_sign(
      "1234.1234", "presence-foobar", R"({"user_id":10,"user_info":{"name":"Mr. Pusher"}})");
  EXPECT_EQ(hmac_sha256_hex(kSecret, to_sign),
            "afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c");
}

TEST(Signature, UserAuthenticationVector) {
  EXPECT_EQ(hmac_sha256_hex(kSecret, user_string_to_sign("1234.1234", R"({"id":"12345"})")),
            "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba");
}

TEST(Signature, VerifyAuthChecksKeyAndSignature) {
  const std::string to_sign = channel_string_to_sign("1234.1234", "private-foobar");
  const std::string good =
      std::string(kKey) + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4";
  EXPECT_TRUE(verify_auth(good, kKey, kSecret, to_sign));
  EXPECT_FALSE(verify_auth("otherkey" + good.substr(kKey.size()), kKey, kSecret, to_sign));
  std::string flipped = good;
  flipped.back() = '5';
  EXPECT_FALSE(verify_auth(flipped, kKey, kSecret, to_sign));
  EXPECT_FALSE(verify_auth(good.substr(0, good.size() - 1), kKey, kSecret, to_sign));
  EXPECT_FALSE(verify_auth("no-colon", kKey, kSecret, to_sign));
  EXPECT_FALSE(verify_auth("", kKey, kSecret, to_sign));
  EXPECT_FALSE(
      verify_auth(good, kKey, kSecret, channel_string_to_sign("1234.1235", "private-foobar")));
}

TEST(Signature, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

}  // namespace
}  // namespace greendot::protocol
