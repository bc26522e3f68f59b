// What a node remembers of the heartbeat expiry entries it wrote: fresh while the entry's due
// time is far enough ahead, forgotten after two generations without use, and never fresh for
// an entry it did not write.
#include "engine/redis/recent_expiries.hpp"

#include <gtest/gtest.h>

namespace greendot::engine::redis_engine {
namespace {

TEST(RecentExpiries, AnEntryIsFreshWhileItsDueTimeIsFarEnoughAhead) {
  RecentExpiries recent(30'000);
  EXPECT_FALSE(recent.fresh("u t app:c", 1'000, 45'000));
  recent.wrote("u t app:c", 91'000, 1'000);
  EXPECT_TRUE(recent.fresh("u t app:c", 1'000, 45'000));
  EXPECT_TRUE(recent.fresh("u t app:c", 46'000, 45'000));
  EXPECT_FALSE(recent.fresh("u t app:c", 46'001, 45'000));
  EXPECT_FALSE(recent.fresh("u t2 app:c", 1'000, 45'000));
  EXPECT_FALSE(recent.fresh("u t app:d", 1'000, 45'000));
}

TEST(RecentExpiries, AnEarlierDueTimeDoesNotReplaceALaterOne) {
  // As ZADD GT: the entry keeps the later of the two.
  RecentExpiries recent(30'000);
  recent.wrote("u t app:c", 91'000, 1'000);
  recent.wrote("u t app:c", 20'000, 2'000);
  EXPECT_TRUE(recent.fresh("u t app:c", 2'000, 45'000));
}

TEST(RecentExpiries, WhatIsUsedIsKeptAndWhatIsNotIsForgotten) {
  RecentExpiries recent(10'000);
  recent.wrote("pinging", 1'000'000, 0);
  recent.wrote("quiet", 1'000'000, 0);
  EXPECT_EQ(recent.size(), 2u);
  // Each generation the pinging tab is looked up, the quiet one is not.
  for (std::int64_t now = 10'000; now <= 40'000; now += 10'000) {
    EXPECT_TRUE(recent.fresh("pinging", now, 1'000)) << now;
  }
  EXPECT_FALSE(recent.fresh("quiet", 40'000, 1'000));
  EXPECT_EQ(recent.size(), 1u);
  // Nothing looked up for two generations: all forgotten at once.
  EXPECT_FALSE(recent.fresh("pinging", 70'000, 1'000));
  EXPECT_EQ(recent.size(), 0u);
}

TEST(RecentExpiries, AForgottenEntryIsNotFresh) {
  RecentExpiries recent(30'000);
  recent.wrote("a", 100'000, 0);
  recent.wrote("b", 100'000, 0);
  recent.forget("a");
  EXPECT_FALSE(recent.fresh("a", 0, 1'000));
  EXPECT_TRUE(recent.fresh("b", 0, 1'000));
  recent.forget_all();
  EXPECT_FALSE(recent.fresh("b", 0, 1'000));
}

}  // namespace
}  // namespace greendot::engine::redis_engine
