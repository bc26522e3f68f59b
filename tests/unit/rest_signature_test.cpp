// The worked example of Pusher's REST API documentation (reference.md §2).
#include "protocol/rest_signature.hpp"

#include <gtest/gtest.h>

#include "protocol/signature.hpp"

namespace greendot::protocol {
namespace {

constexpr std::string_view kKey = "278d425bdf160c739803";
constexpr std::string_view kSecret = "7ad3773142a6692b25b8";
constexpr std::string_view kBody =
    R"({"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"})";
constexpr std::int64_t kTimestamp = 1353088179;

QueryParams signed_query() {
  return {{"auth_key", std::string(kKey)},
          {"auth_timestamp", std::to_string(kTimestamp)},
          {"auth_version", "1.0"},
          {"body_md5", "ec365a775a4cd0599faeb73354201b6f"},
          {"auth_signature", "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"}};
}

TEST(RestSignature, DocumentedVector) {
  EXPECT_EQ(md5_hex(kBody), "ec365a775a4cd0599faeb73354201b6f");
  auto query = signed_query();
  EXPECT_EQ(rest_string_to_sign("POST", "/apps/3/events", query),
            "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&"
            "auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f");
  auto result =
      verify_rest_request("POST", "/apps/3/events", query, kBody, kKey, kSecret, kTimestamp);
  EXPECT_TRUE(result.ok) << result.problem;
}

TEST(RestSignature, SortsAndLowercasesKeys) {
  QueryParams query{{"b", "2"}, {"A", "1"}, {"auth_signature", "x"}};
  EXPECT_EQ(rest_string_to_sign("GET", "/p", query), "GET\n/p\na=1&b=2");
}

TEST(RestSignature, RefusesEachKindOfBadRequest) {
  auto check = [](QueryParams query, std::string_view body, std::int64_t now) {
    return verify_rest_request("POST", "/apps/3/events", query, body, kKey, kSecret, now);
  };
  EXPECT_TRUE(check(signed_query(), kBody, kTimestamp + 600).ok);
  EXPECT_NE(check(signed_query(), kBody, kTimestamp + 601).problem.find("auth_timestamp"),
            std::string::npos);
  EXPECT_FALSE(check(signed_query(), kBody, kTimestamp - 601).ok);
  EXPECT_EQ(check(signed_query(), "{}", kTimestamp).problem, "body_md5 does not match the body");

  auto query = signed_query();
  query[4].second[0] = 'e';
  EXPECT_EQ(check(query, kBody, kTimestamp).problem, "Invalid auth_signature");

  query = signed_query();
  query[0].second = "other";
  EXPECT_EQ(check(query, kBody, kTimestamp).problem, "Unknown auth_key for this app");

  query = signed_query();
  query.erase(query.begin() + 1);
  EXPECT_EQ(check(query, kBody, kTimestamp).problem, "Missing query parameter auth_timestamp");

  query = signed_query();
  query[1].second = "12x";
  EXPECT_FALSE(check(query, kBody, kTimestamp).ok);

  query = signed_query();
  query.erase(query.begin() + 3);  // body_md5
  EXPECT_EQ(check(query, kBody, kTimestamp).problem, "Missing query parameter body_md5");
}

TEST(RestSignature, GetWithoutBody) {
  QueryParams query{{"auth_key", std::string(kKey)},
                    {"auth_timestamp", "100"},
                    {"auth_version", "1.0"},
                    {"filter_by_prefix", "presence-"}};
  query.emplace_back(
      "auth_signature",
      hmac_sha256_hex(kSecret, rest_string_to_sign("GET", "/apps/3/channels", query)));
  EXPECT_TRUE(verify_rest_request("GET", "/apps/3/channels", query, "", kKey, kSecret, 100).ok);
  EXPECT_FALSE(verify_rest_request("GET", "/apps/3/channelz", query, "", kKey, kSecret, 100).ok);
}

}  // namespace
}  // namespace greendot::protocol
