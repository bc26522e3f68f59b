#include "core/liveness_tracker.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace greendot::core {
namespace {

struct Client : LivenessEntry {
  int id;
  explicit Client(int i) : id(i) {}
};

struct Recorder {
  std::vector<int> pinged;
  std::vector<int> expired;
  void sweep(LivenessTracker& tracker, Millis now) {
    tracker.sweep(
        now, [&](LivenessEntry& e) { pinged.push_back(static_cast<Client&>(e).id); },
        [&](LivenessEntry& e) { expired.push_back(static_cast<Client&>(e).id); });
  }
};

TEST(LivenessTracker, SilentClientIsPingedThenExpired) {
  LivenessTracker tracker(/*activity=*/30000, /*pong=*/10000);
  Client a(1);
  tracker.touch(a, 0);
  Recorder r;
  r.sweep(tracker, 29999);
  EXPECT_TRUE(r.pinged.empty());
  r.sweep(tracker, 30000);
  EXPECT_EQ(r.pinged, std::vector<int>{1});
  r.sweep(tracker, 39999);
  EXPECT_TRUE(r.expired.empty());
  r.sweep(tracker, 40000);
  EXPECT_EQ(r.expired, std::vector<int>{1});
  EXPECT_FALSE(a.tracked());
}

TEST(LivenessTracker, ActivityAfterPingKeepsClient) {
  LivenessTracker tracker(30000, 10000);
  Client a(1);
  tracker.touch(a, 0);
  Recorder r;
  r.sweep(tracker, 30000);
  tracker.touch(a, 35000);  // the pong
  r.sweep(tracker, 45000);
  EXPECT_TRUE(r.expired.empty());
  EXPECT_EQ(r.pinged.size(), 1u);
  r.sweep(tracker, 65000);
  EXPECT_EQ(r.pinged.size(), 2u);
}

TEST(LivenessTracker, OnlyDueEntriesAreVisited) {
  LivenessTracker tracker(1000, 1000);
  Client a(1), b(2), c(3);
  tracker.touch(a, 0);
  tracker.touch(b, 500);
  tracker.touch(c, 900);
  tracker.touch(a, 950);  // a moves behind c
  Recorder r;
  r.sweep(tracker, 1500);
  EXPECT_EQ(r.pinged, std::vector<int>{2});
  r.sweep(tracker, 1950);
  EXPECT_EQ(r.pinged, (std::vector<int>{2, 3, 1}));
}

TEST(LivenessTracker, RemovedEntriesAreForgotten) {
  LivenessTracker tracker(1000, 1000);
  Client a(1), b(2);
  tracker.touch(a, 0);
  tracker.touch(b, 0);
  tracker.remove(a);
  tracker.remove(a);  // twice is harmless
  Recorder r;
  r.sweep(tracker, 5000);
  r.sweep(tracker, 10000);
  EXPECT_EQ(r.pinged, std::vector<int>{2});
  EXPECT_EQ(r.expired, std::vector<int>{2});
}

TEST(LivenessTracker, ExpireMayDestroyTheEntry) {
  LivenessTracker tracker(1000, 1000);
  auto* a = new Client(1);
  tracker.touch(*a, 0);
  tracker.sweep(
      5000, [](LivenessEntry&) {}, [](LivenessEntry&) {});
  tracker.sweep(
      10000, [](LivenessEntry&) {}, [](LivenessEntry& e) { delete &static_cast<Client&>(e); });
  SUCCEED();  // ASan reports any use after the delete
}

}  // namespace
}  // namespace greendot::core
