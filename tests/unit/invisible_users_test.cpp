// A node's copy of an app's invisible users: a change told while the set is being loaded is
// not lost whether the load's answer has it or not.
#include "engine/redis/invisible_users.hpp"

#include <gtest/gtest.h>

namespace greendot::engine::redis_engine {
namespace {

TEST(InvisibleUsers, AChangeToldDuringALoadOutlivesAnAnswerWithoutIt) {
  InvisibleUsers users;
  users.changed("old", true);
  users.load_sent();
  users.changed("a", true);  // made after the set was read: not in the answer
  users.changed("old", false);
  users.loaded({"old", "b"});
  EXPECT_TRUE(users.contains("a"));
  EXPECT_TRUE(users.contains("b"));
  EXPECT_FALSE(users.contains("old"));
}

TEST(InvisibleUsers, ChangesAreAppliedInTheOrderTheyWereTold) {
  InvisibleUsers users;
  users.load_sent();
  users.changed("a", true);
  users.changed("a", false);
  users.loaded({"a"});  // read between the two changes
  EXPECT_FALSE(users.contains("a"));
}

TEST(InvisibleUsers, WhatWasToldIsKeptUntilEveryLoadIsAnswered) {
  InvisibleUsers users;
  users.load_sent();
  users.load_sent();
  users.changed("a", true);
  users.load_failed();
  users.loaded({});
  EXPECT_TRUE(users.contains("a"));
  // No load on its way: an answer's set is taken as it is.
  users.load_sent();
  users.loaded({"c"});
  EXPECT_FALSE(users.contains("a"));
  EXPECT_TRUE(users.contains("c"));
}

}  // namespace
}  // namespace greendot::engine::redis_engine
