// The policy around user tokens: where a token may be, which app it is for, how long it may
// live, and which contexts it opens.
#include "auth/page_token.hpp"

#include <gtest/gtest.h>

namespace greendot::auth {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

config::AppConfig app() {
  config::AppConfig a;
  a.id = "shop";
  a.key = "key";
  a.secret = "secret";
  return a;
}

std::string token(std::string_view claims) {
  return protocol::sign_user_token(claims, "secret");
}

std::string claims(std::string_view extra, std::int64_t exp = kNow + 600) {
  return "{\"sub\":\"u1\",\"exp\":" + std::to_string(exp) + std::string(extra) + "}";
}

protocol::UserToken with_contexts(std::vector<std::string> contexts) {
  protocol::UserToken t;
  t.contexts = std::move(contexts);
  return t;
}

TEST(TokenScope, NamesAndPrefixes) {
  const auto t = with_contexts({"room.1", "team.*"});
  EXPECT_TRUE(token_opens(t, "room.1"));
  EXPECT_FALSE(token_opens(t, "room.10"));
  EXPECT_FALSE(token_opens(t, "room.2"));
  EXPECT_TRUE(token_opens(t, "team.a"));
  EXPECT_TRUE(token_opens(t, "team."));
  EXPECT_FALSE(token_opens(t, "team"));
  EXPECT_FALSE(token_opens(t, "teamx"));
}

TEST(TokenScope, NoneOpensNothingAndStarOpensAll) {
  EXPECT_FALSE(token_opens(with_contexts({}), "global"));
  EXPECT_TRUE(token_opens(with_contexts({"*"}), "anything.at.all"));
}

TEST(FindToken, HeaderFirstThenOnlyAllowedPlaces) {
  const protocol::QueryParams query{{"token", "from-query"}};
  auto header = find_token({"Bearer from-header", &query, ""}, kTokenInHeader);
  EXPECT_EQ(std::get<std::string>(header), "from-header");

  auto refused = find_token({"", &query, ""}, kTokenInHeader);
  ASSERT_TRUE(std::holds_alternative<AuthProblem>(refused));
  EXPECT_EQ(std::get<AuthProblem>(refused).status, 400);

  auto allowed = find_token({"", &query, ""}, kTokenInHeader | kTokenInQuery);
  EXPECT_EQ(std::get<std::string>(allowed), "from-query");

  auto missing = find_token({"", nullptr, ""}, kTokenInHeader);
  EXPECT_EQ(std::get<AuthProblem>(missing).status, 401);

  auto not_bearer = find_token({"Basic abc", nullptr, ""}, kTokenInHeader);
  EXPECT_EQ(std::get<AuthProblem>(not_bearer).status, 401);
}

TEST(FindToken, BeaconBodyPlainOrJson) {
  EXPECT_EQ(std::get<std::string>(find_token({"", nullptr, " a.b.c\n"}, kTokenInBody)), "a.b.c");
  EXPECT_EQ(std::get<std::string>(find_token({"", nullptr, R"({"token":"x.y.z"})"}, kTokenInBody)),
            "x.y.z");
  EXPECT_EQ(std::get<AuthProblem>(find_token({"", nullptr, R"({"token":5})"}, kTokenInBody)).status,
            400);
  EXPECT_EQ(std::get<AuthProblem>(find_token({"", nullptr, R"({"token":)"}, kTokenInBody)).status,
            400);
  // A body is not a place for routes that do not allow it.
  EXPECT_EQ(std::get<AuthProblem>(find_token({"", nullptr, "a.b.c"}, kTokenInHeader)).status, 401);
}

TEST(VerifyPageToken, AudienceMustNameTheApp) {
  EXPECT_EQ(std::get<AuthProblem>(verify_page_token(token(claims("")), app(), kNow)).status, 401);
  EXPECT_TRUE(std::holds_alternative<AuthProblem>(
      verify_page_token(token(claims(",\"aud\":\"other\"")), app(), kNow)));
  EXPECT_TRUE(std::holds_alternative<protocol::UserToken>(
      verify_page_token(token(claims(",\"aud\":\"shop\"")), app(), kNow)));
  EXPECT_TRUE(std::holds_alternative<protocol::UserToken>(
      verify_page_token(token(claims(",\"aud\":[\"other\",\"shop\"]")), app(), kNow)));
}

TEST(VerifyPageToken, LifetimeIsBounded) {
  auto a = app();
  a.max_token_lifetime_s = 3600;
  const std::string aud = ",\"aud\":\"shop\"";
  EXPECT_TRUE(std::holds_alternative<protocol::UserToken>(
      verify_page_token(token(claims(aud, kNow + 3600)), a, kNow)));
  EXPECT_TRUE(std::holds_alternative<AuthProblem>(
      verify_page_token(token(claims(aud, kNow + 3601)), a, kNow)));
  EXPECT_TRUE(std::holds_alternative<AuthProblem>(verify_page_token(
      token(claims(aud + ",\"iat\":" + std::to_string(kNow - 7200), kNow + 60)), a, kNow)));
  EXPECT_TRUE(std::holds_alternative<AuthProblem>(verify_page_token(
      token(claims(aud + ",\"iat\":" + std::to_string(kNow + 600), kNow + 900)), a, kNow)));
}

TEST(VerifyPageToken, ContextsClaimIsRead) {
  auto verified = verify_page_token(token(claims(",\"aud\":\"shop\",\"contexts\":[\"a\",\"b.*\"]")),
                                    app(), kNow);
  const auto& user = std::get<protocol::UserToken>(verified);
  EXPECT_EQ(user.contexts, (std::vector<std::string>{"a", "b.*"}));
  EXPECT_TRUE(std::holds_alternative<AuthProblem>(
      verify_page_token(token(claims(",\"aud\":\"shop\",\"contexts\":\"a\"")), app(), kNow)));
  EXPECT_TRUE(std::holds_alternative<AuthProblem>(
      verify_page_token(token(claims(",\"aud\":\"shop\",\"contexts\":[\"\"]")), app(), kNow)));
}

}  // namespace
}  // namespace greendot::auth
