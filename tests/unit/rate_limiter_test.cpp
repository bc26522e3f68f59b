#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace greendot::core {
namespace {

TEST(RateLimiter, AllowsBurstOfRateThenRefuses) {
  RateLimiter limiter;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.try_acquire(10, 1000)) << i;
  EXPECT_FALSE(limiter.try_acquire(10, 1000));
}

TEST(RateLimiter, RefillsOverTime) {
  RateLimiter limiter;
  for (int i = 0; i < 10; ++i) limiter.try_acquire(10, 0);
  EXPECT_FALSE(limiter.try_acquire(10, 99));
  EXPECT_TRUE(limiter.try_acquire(10, 100));  // one token per 100 ms at 10/s
  EXPECT_FALSE(limiter.try_acquire(10, 150));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.try_acquire(10, 10000));
  EXPECT_FALSE(limiter.try_acquire(10, 10000)) << "refill is capped at the burst size";
}

TEST(RateLimiter, ZeroRateRefusesEverything) {
  RateLimiter limiter;
  EXPECT_FALSE(limiter.try_acquire(0, 0));
}

TEST(RateLimiter, ClockGoingBackDoesNotMintTokens) {
  RateLimiter limiter;
  for (int i = 0; i < 2; ++i) limiter.try_acquire(2, 5000);
  EXPECT_FALSE(limiter.try_acquire(2, 1000));
  EXPECT_FALSE(limiter.try_acquire(2, 5000));
}

}  // namespace
}  // namespace greendot::core
