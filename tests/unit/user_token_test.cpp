#include "protocol/user_token.hpp"

#include <gtest/gtest.h>

namespace greendot::protocol {
namespace {

constexpr std::string_view kSecret = "app-secret";

std::string problem(const std::variant<UserToken, TokenProblem>& result) {
  auto* p = std::get_if<TokenProblem>(&result);
  return p ? p->message : "";
}

TEST(UserToken, Base64UrlRoundTrip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    auto decoded = base64url_decode(base64url_encode(s));
    ASSERT_TRUE(std::holds_alternative<std::string>(decoded));
    EXPECT_EQ(std::get<std::string>(decoded), s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_TRUE(std::holds_alternative<TokenProblem>(base64url_decode("a+b/")));
  EXPECT_TRUE(std::holds_alternative<TokenProblem>(base64url_decode("abcde")));
}

// Made independently with node's crypto: base64url header and payload, HMAC-SHA256 with
// "app-secret" of "header.payload", as every JWT library does.
constexpr std::string_view kNodeToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwidXNlcl9pbmZvIjp7Im5hbWUiOiJBbm4ifX0."
    "NYiD5q8eV1HL5qhUD6ycG8ZXe9_o2IwOccurY4W54gU";

TEST(UserToken, SignsLikeOtherLibraries) {
  EXPECT_EQ(sign_user_token(R"({"sub":"42","exp":4102444800,"user_info":{"name":"Ann"}})", kSecret),
            kNodeToken);
}

TEST(UserToken, AcceptsAStandardToken) {
  const std::string token(kNodeToken);
  auto result = verify_user_token(token, kSecret, 1700000000, 128);
  ASSERT_TRUE(std::holds_alternative<UserToken>(result)) << problem(result);
  const auto& user = std::get<UserToken>(result);
  EXPECT_EQ(user.user_id, "42");
  EXPECT_EQ(user.user_info, R"({"name":"Ann"})");
  EXPECT_EQ(user.expires_s, 4102444800);
}

TEST(UserToken, NumericSubIsTheSameUser) {
  auto result = verify_user_token(sign_user_token(R"({"sub":42,"exp":4102444800})", kSecret),
                                  kSecret, 0, 128);
  ASSERT_TRUE(std::holds_alternative<UserToken>(result)) << problem(result);
  EXPECT_EQ(std::get<UserToken>(result).user_id, "42");
  EXPECT_EQ(std::get<UserToken>(result).user_info, "null");
}

TEST(UserToken, RefusesBadTokens) {
  const std::string good = sign_user_token(R"({"sub":"42","exp":2000})", kSecret);
  EXPECT_EQ(problem(verify_user_token(good, "other", 1000, 128)), "Invalid token signature");
  EXPECT_EQ(problem(verify_user_token(good, kSecret, 2000, 128)), "The token has expired");
  EXPECT_EQ(problem(verify_user_token("abc", kSecret, 0, 128)),
            "The token is not a JWT (header.payload.signature)");
  EXPECT_EQ(problem(verify_user_token("a.b.c.d", kSecret, 0, 128)),
            "The token is not a JWT (header.payload.signature)");
  std::string tampered = good;
  tampered[good.find('.') + 2] ^= 1;
  EXPECT_NE(problem(verify_user_token(tampered, kSecret, 1000, 128)), "");
  EXPECT_EQ(
      problem(verify_user_token(sign_user_token(R"({"sub":"42"})", kSecret), kSecret, 0, 128)),
      "The token needs a numeric exp");
  EXPECT_EQ(problem(verify_user_token(sign_user_token(R"({"exp":2000})", kSecret), kSecret, 0, 128))
                .substr(0, 17),
            "The token's sub m");
  EXPECT_NE(problem(verify_user_token(sign_user_token(R"({"sub":"a b","exp":2000})", kSecret),
                                      kSecret, 0, 128)),
            "");
  EXPECT_EQ(
      problem(verify_user_token(sign_user_token(R"({"sub":"4","exp":2000,"nbf":1500})", kSecret),
                                kSecret, 1000, 128)),
      "The token is not valid yet (nbf)");
  EXPECT_EQ(problem(verify_user_token(
                sign_user_token(R"({"sub":"4","exp":2000,"user_info":[1]})", kSecret), kSecret,
                1000, 128)),
            "The token's user_info must be an object");
}

TEST(UserToken, RefusesOtherAlgorithms) {
  // alg "none" with an empty signature must not pass.
  const std::string none = base64url_encode(R"({"alg":"none"})") + "." +
                           base64url_encode(R"({"sub":"42","exp":4102444800})") + ".";
  EXPECT_EQ(problem(verify_user_token(none, kSecret, 0, 128)),
            "The token must be signed with HS256");
}

}  // namespace
}  // namespace greendot::protocol
