#include "transport/local_fanout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace greendot::transport {
namespace {

struct CountingSink final : FrameSink {
  explicit CountingSink(std::uint32_t n) : id{1, n} {}
  void send_frame(const engine::SharedFrame&) override { ++received; }
  protocol::SocketId socket_id() const override { return id; }
  bool is_member_as(std::string_view, std::string_view) const override { return false; }
  bool joined_after(std::string_view, std::uint64_t number) const override {
    return join_number > number;
  }
  protocol::SocketId id;
  std::uint64_t join_number = 0;
  int received = 0;
};

engine::ChannelMessage message(std::string channel) {
  return engine::ChannelMessage{
      0, std::move(channel), std::make_shared<const std::string>("f"), {}, {}};
}

struct LocalFanoutTest : ::testing::Test {
  LocalFanout fanout;
  std::vector<std::unique_ptr<CountingSink>> sinks;

  void subscribe(std::size_t n, std::string_view channel) {
    while (sinks.size() < n) {
      sinks.push_back(std::make_unique<CountingSink>(static_cast<std::uint32_t>(sinks.size() + 1)));
    }
    for (std::size_t i = 0; i < n; ++i) fanout.add(0, channel, sinks[i].get());
  }

  // Delivers one message and returns which sinks got it (and clears the counts).
  std::set<std::size_t> receivers(std::string channel) {
    fanout.deliver(message(std::move(channel)));
    std::set<std::size_t> got;
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      EXPECT_LE(sinks[i]->received, 1) << "sink " << i << " got the frame twice";
      if (sinks[i]->received > 0) got.insert(i);
      sinks[i]->received = 0;
    }
    return got;
  }
};

TEST_F(LocalFanoutTest, RemovalInAnyOrderKeepsExactlyTheOthers) {
  constexpr std::size_t kCount = 500;
  subscribe(kCount, "big");
  std::vector<std::size_t> order(kCount);
  for (std::size_t i = 0; i < kCount; ++i) order[i] = i;
  std::mt19937 random(42);
  std::shuffle(order.begin(), order.end(), random);
  std::set<std::size_t> remaining(order.begin(), order.end());
  for (std::size_t step = 0; step < kCount; ++step) {
    fanout.remove(0, "big", sinks[order[step]].get());
    remaining.erase(order[step]);
    ASSERT_EQ(fanout.subscriber_count(0, "big"), remaining.size());
    // Checking every step would be quadratic itself; every 37th and the last few suffice.
    if (step % 37 == 0 || remaining.size() < 5) {
      ASSERT_EQ(receivers("big"), remaining);
    }
  }
  EXPECT_EQ(fanout.channel_count(), 0u) << "an emptied channel is forgotten";
}

TEST_F(LocalFanoutTest, AChannelGrowingAndShrinkingAcrossItsIndexKeepsExactlyItsSubscribers) {
  // Small channels are searched, large ones indexed (from 32, until below 16): random adds
  // (some twice) and removals (some of strangers) around both sizes, checked at every step.
  constexpr std::size_t kPool = 80;
  subscribe(kPool, "warmup");
  for (std::size_t i = 0; i < kPool; ++i) fanout.remove(0, "warmup", sinks[i].get());
  std::mt19937 random(7);
  std::set<std::size_t> model;
  for (int step = 0; step < 4000; ++step) {
    // Drifts up to ~72 subscribers and back down to ~8, twice over.
    const bool growing = (step / 1000) % 2 == 0;
    const std::size_t i = random() % kPool;
    if (random() % 100 < (growing ? 90u : 10u)) {
      fanout.add(0, "c", sinks[i].get());
      model.insert(i);
    } else {
      fanout.remove(0, "c", sinks[i].get());
      model.erase(i);
    }
    ASSERT_EQ(fanout.subscriber_count(0, "c"), model.size()) << "step " << step;
    ASSERT_EQ(receivers("c"), model) << "step " << step;
  }
}

TEST_F(LocalFanoutTest, RemovingTheLastAndTheFirstAndAStrangerIsSafe) {
  subscribe(3, "c");
  CountingSink stranger(99);
  fanout.remove(0, "c", &stranger);
  fanout.remove(0, "other", sinks[0].get());
  fanout.remove(7, "c", sinks[0].get());
  EXPECT_EQ(receivers("c"), (std::set<std::size_t>{0, 1, 2}));
  fanout.remove(0, "c", sinks[2].get());  // the last slot: nothing moves
  EXPECT_EQ(receivers("c"), (std::set<std::size_t>{0, 1}));
  fanout.remove(0, "c", sinks[0].get());  // the first: the last moves into it
  EXPECT_EQ(receivers("c"), (std::set<std::size_t>{1}));
  fanout.remove(0, "c", sinks[0].get());  // twice: nothing happens
  EXPECT_EQ(receivers("c"), (std::set<std::size_t>{1}));
}

TEST_F(LocalFanoutTest, AddingTwiceSubscribesOnceAndChannelsAreIndependent) {
  subscribe(2, "a");
  fanout.add(0, "a", sinks[0].get());
  EXPECT_EQ(fanout.subscriber_count(0, "a"), 2u);
  fanout.add(0, "b", sinks[1].get());
  fanout.remove(0, "a", sinks[1].get());
  EXPECT_EQ(receivers("a"), (std::set<std::size_t>{0}));
  EXPECT_EQ(receivers("b"), (std::set<std::size_t>{1}));
  EXPECT_EQ(fanout.channel_count(), 2u);
}

TEST_F(LocalFanoutTest, TheExceptedSocketIsSkipped) {
  subscribe(3, "c");
  auto skip = message("c");
  skip.except = sinks[1]->id;
  fanout.deliver(skip);
  EXPECT_EQ(sinks[0]->received, 1);
  EXPECT_EQ(sinks[1]->received, 0);
  EXPECT_EQ(sinks[2]->received, 1);
}

TEST_F(LocalFanoutTest, AMessageForLateJoinersSkipsThoseWhoJoinedBefore) {
  subscribe(4, "presence-x");
  for (std::size_t i = 0; i < 4; ++i) sinks[i]->join_number = i + 1;
  auto late = message("presence-x");
  late.joined_after = 2;
  fanout.deliver(late);
  std::vector<int> got;
  for (const auto& sink : sinks) {
    got.push_back(sink->received);
    sink->received = 0;
  }
  EXPECT_EQ(got, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(receivers("presence-x"), (std::set<std::size_t>{0, 1, 2, 3})) << "0 is everyone";
}

}  // namespace
}  // namespace greendot::transport
