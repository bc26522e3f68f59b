// The dashboard's credentials: off without configuration, 401 with a Basic challenge for
// anything but the exact user and password.
#include <gtest/gtest.h>

#include "auth/operator_auth.hpp"

namespace greendot::auth {
namespace {

config::WebSettings operators() {
  config::WebSettings web;
  web.dashboard_user = "ops";
  web.dashboard_password = "s3cret";
  return web;
}

bool has_challenge(const api::RestResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "WWW-Authenticate" && value.starts_with("Basic ")) return true;
  }
  return false;
}

TEST(OperatorAuth, OffWithoutCredentialsInTheConfig) {
  const auto refusal = operator_refusal(config::WebSettings{}, "Basic b3BzOnMzY3JldA==");
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 404);
}

TEST(OperatorAuth, TheRightCredentialsPass) {
  EXPECT_FALSE(operator_refusal(operators(), "Basic b3BzOnMzY3JldA=="));  // ops:s3cret
}

TEST(OperatorAuth, AnythingElseIsChallenged) {
  for (const char* authorization : {
           "",                          // none
           "Bearer b3BzOnMzY3JldA==",   // another scheme
           "Basic b3BzOnMzY3Jl",        // ops:s3cre (cut short)
           "Basic b3BzOnMzY3JldDE=",    // ops:s3cret1
           "Basic b3BzOg==",            // ops: (no password)
           "Basic T1BTOnMzY3JldA==",    // OPS:s3cret
           "Basic b3BzOnMzY3JldA==!!",  // not base64
       }) {
    const auto refusal = operator_refusal(operators(), authorization);
    ASSERT_TRUE(refusal) << authorization;
    EXPECT_EQ(refusal->status, 401) << authorization;
    EXPECT_TRUE(has_challenge(*refusal)) << authorization;
  }
}

}  // namespace
}  // namespace greendot::auth
