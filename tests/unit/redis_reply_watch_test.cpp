// When a pipelined connection counts as silent: replies that keep coming (however old the
// oldest command) mean it is alive, and one late look is not enough to drop it.
#include "redis/reply_watch.hpp"

#include <gtest/gtest.h>

namespace greendot::redis {
namespace {

using namespace std::chrono_literals;
const ReplyWatch::Clock::time_point t0{};
constexpr auto kTimeout = 2000ms;

TEST(ReplyWatch, NothingWaitingIsNeverAStall) {
  ReplyWatch watch;
  EXPECT_FALSE(watch.stalled(t0 + 1h, kTimeout));
}

TEST(ReplyWatch, RepliesThatKeepComingMeanTheServerIsAlive) {
  ReplyWatch watch;
  for (int i = 0; i < 1000; ++i) watch.sent(t0);  // a burst, answered over three seconds
  for (int i = 0; i < 999; ++i) watch.replied(t0 + 3ms * i);
  EXPECT_FALSE(watch.stalled(t0 + 3500ms, kTimeout));
  EXPECT_FALSE(watch.stalled(t0 + 3600ms, kTimeout));
}

TEST(ReplyWatch, AStallIsSeenTwiceBeforeItCounts) {
  ReplyWatch watch;
  watch.sent(t0);
  EXPECT_FALSE(watch.stalled(t0 + 2500ms, kTimeout)) << "replies may be unread in the socket";
  EXPECT_TRUE(watch.stalled(t0 + 2600ms, kTimeout));
}

TEST(ReplyWatch, AReplyBetweenTheTwoLooksClearsTheSuspicion) {
  ReplyWatch watch;
  watch.sent(t0);
  watch.sent(t0);
  EXPECT_FALSE(watch.stalled(t0 + 2500ms, kTimeout));
  watch.replied(t0 + 2550ms);  // read after the timer, as a busy thread does
  EXPECT_FALSE(watch.stalled(t0 + 2600ms, kTimeout));
  EXPECT_FALSE(watch.stalled(t0 + 2700ms, kTimeout));
  EXPECT_TRUE(watch.stalled(t0 + 4600ms, kTimeout) || watch.stalled(t0 + 4700ms, kTimeout));
}

TEST(ReplyWatch, AConnectionThatWentWaitsForNothing) {
  ReplyWatch watch;
  watch.sent(t0);
  EXPECT_FALSE(watch.stalled(t0 + 2500ms, kTimeout));
  watch.clear();
  EXPECT_FALSE(watch.stalled(t0 + 9000ms, kTimeout));
}

}  // namespace
}  // namespace greendot::redis
