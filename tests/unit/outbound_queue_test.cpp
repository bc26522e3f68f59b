#include "transport/outbound_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace greendot::transport {
namespace {

engine::SharedFrame frame(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

// What a gather describes, as one string: the bytes the next write would send.
std::string gathered(const OutboundQueue& queue, std::size_t max = 64) {
  iovec pieces[64];
  std::string out;
  const std::size_t count = queue.gather(pieces, max);
  for (std::size_t i = 0; i < count; ++i) {
    out.append(static_cast<const char*>(pieces[i].iov_base), pieces[i].iov_len);
  }
  return out;
}

TEST(OutboundQueue, GathersEveryFrameInOrder) {
  OutboundQueue queue;
  EXPECT_TRUE(queue.empty());
  queue.push(frame("one"));
  queue.push(frame("two"));
  queue.push(frame("three"));
  EXPECT_EQ(queue.bytes(), 11u);
  EXPECT_EQ(gathered(queue), "onetwothree");
  EXPECT_EQ(gathered(queue, 2), "onetwo") << "no more pieces than asked";
}

TEST(OutboundQueue, PartialWritesResumeMidFrame) {
  OutboundQueue queue;
  queue.push(frame("abcdef"));
  queue.push(frame("gh"));
  queue.consume(4);
  EXPECT_EQ(queue.bytes(), 4u);
  EXPECT_EQ(gathered(queue), "efgh");
  queue.consume(3);
  EXPECT_EQ(gathered(queue), "h");
  queue.consume(1);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  queue.push(frame("next"));
  EXPECT_EQ(gathered(queue), "next") << "a drained queue starts afresh";
}

TEST(OutboundQueue, SharedFramesAreReleasedOnceWritten) {
  OutboundQueue queue;
  auto shared = frame("broadcast");
  queue.push(shared);
  EXPECT_EQ(shared.use_count(), 2);
  queue.consume(shared->size());
  EXPECT_EQ(shared.use_count(), 1);
}

TEST(OutboundQueue, DroppingKeepsAPartlyWrittenFrame) {
  OutboundQueue queue;
  queue.push(frame("first"));
  queue.push(frame("second"));
  queue.push(frame("third"));
  queue.consume(2);
  queue.drop_unstarted();
  EXPECT_EQ(gathered(queue), "rst") << "the peer must get the rest of the frame it is reading";
  EXPECT_EQ(queue.bytes(), 3u);
  queue.push(frame("close"));
  EXPECT_EQ(gathered(queue), "rstclose");
}

TEST(OutboundQueue, DroppingWithNothingStartedEmptiesTheQueue) {
  OutboundQueue queue;
  queue.push(frame("a"));
  queue.push(frame("b"));
  queue.drop_unstarted();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(OutboundQueue, AReaderAlwaysBehindDoesNotGrowTheQueueWithoutBound) {
  OutboundQueue queue;
  // Each round the kernel takes all but one byte: the queue never drains.
  for (int i = 0; i < 10000; ++i) {
    queue.push(frame("0123456789"));
    queue.consume(queue.bytes() - 1);
    ASSERT_EQ(queue.bytes(), 1u);
    ASSERT_LE(queue.slots(), 200u) << "after " << i << " rounds";
  }
  EXPECT_EQ(gathered(queue), "9");
}

TEST(OutboundQueue, ADrainedQueueGivesABurstsMemoryBack) {
  OutboundQueue queue;
  for (int i = 0; i < 1000; ++i) queue.push(frame("x"));
  EXPECT_EQ(queue.slots(), 1000u);
  queue.consume(1000);
  EXPECT_EQ(queue.slots(), 0u);
  EXPECT_EQ(queue.capacity(), 0u);
}

TEST(OutboundQueue, ClearForgetsEverything) {
  OutboundQueue queue;
  queue.push(frame("abc"));
  queue.consume(1);
  queue.clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_EQ(gathered(queue), "");
}

TEST(OutboundQueue, AnswersAreCountedApartUntilWritten) {
  OutboundQueue queue;
  queue.push(frame("ab"));
  queue.push_answer(frame("members"));
  queue.push(frame("cd"));
  EXPECT_EQ(queue.bytes(), 11u);
  EXPECT_EQ(queue.answer_bytes(), 7u);
  queue.consume(4);  // "ab" and "me"
  EXPECT_EQ(queue.answer_bytes(), 5u) << "a partly written answer counts what is left of it";
  queue.consume(5);
  EXPECT_EQ(queue.answer_bytes(), 0u);
  EXPECT_EQ(queue.bytes(), 2u);
}

TEST(OutboundQueue, DroppingForgetsUnstartedAnswersToo) {
  OutboundQueue queue;
  queue.push_answer(frame("first"));
  queue.push_answer(frame("second"));
  queue.consume(2);
  queue.drop_unstarted();
  EXPECT_EQ(queue.answer_bytes(), 3u);
  queue.clear();
  EXPECT_EQ(queue.answer_bytes(), 0u);
}

}  // namespace
}  // namespace greendot::transport
