// TargetQueue on a fake clock: batching, ordering, backoff, giving up, the queue limit.
#include "webhooks/target_queue.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "webhooks/webhook_body.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::webhooks {
namespace {

constexpr std::int64_t kUnixMs = 1'700'000'000'000;

TargetOptions options(core::Millis batch_ms = 50, std::size_t batch_max = 100,
                      core::Millis retry_ms = 300'000, std::size_t queue_limit = 10'000) {
  TargetOptions o;
  o.batch_ms = batch_ms;
  o.batch_max_events = batch_max;
  o.retry_ms = retry_ms;
  o.queue_limit = queue_limit;
  o.secret = "secret";
  return o;
}

std::string occupied(int n) {
  // Appended rather than "c" + std::to_string(n), for which GCC 12 at -O3 reports a false
  // -Wrestrict overlap.
  std::string channel = "c";
  channel.append(std::to_string(n));
  return channel_event_json(EventType::ChannelOccupied, channel);
}

std::vector<std::string> occupied_range(int first, int last) {
  std::vector<std::string> events;
  for (int n = first; n <= last; ++n) events.push_back(occupied(n));
  return events;
}

void push_occupied(TargetQueue& queue, int first, int last, core::Millis now) {
  for (int n = first; n <= last; ++n) {
    ASSERT_EQ(queue.push(EventType::ChannelOccupied, occupied(n), now),
              TargetQueue::Pushed::Queued);
  }
}

// The body a batch of these events must have, sent at kUnixMs.
std::string body_of(const std::vector<std::string>& events) {
  return webhook_body(kUnixMs, events);
}

TEST(WebhookBackoff, DoublesFromOneSecondUpToOneMinute) {
  const std::vector<core::Millis> expected{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(backoff_delay(static_cast<int>(i) + 1), expected[i]) << "retry " << i + 1;
  }
  EXPECT_EQ(backoff_delay(1000), 60000);
}

TEST(TargetQueue, NothingIsDueWhileEmpty) {
  TargetQueue queue(options());
  EXPECT_EQ(queue.take_due(0, kUnixMs), nullptr);
  EXPECT_EQ(queue.next_wakeup(), std::nullopt);
  EXPECT_TRUE(queue.idle());
}

TEST(TargetQueue, EventsAreGatheredForTheBatchWindowAfterTheFirst) {
  TargetQueue queue(options(50));
  push_occupied(queue, 1, 1, 1000);
  push_occupied(queue, 2, 2, 1020);
  push_occupied(queue, 3, 3, 1049);
  EXPECT_EQ(queue.next_wakeup(), 1050);
  EXPECT_EQ(queue.take_due(1049, kUnixMs), nullptr);

  const TargetQueue::Batch* batch = queue.take_due(1050, kUnixMs);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->events, 3u);
  EXPECT_EQ(batch->body, body_of(occupied_range(1, 3)));
  EXPECT_EQ(batch->signature, webhook_signature("secret", batch->body));
  EXPECT_EQ(batch->attempts, 1);
  // In flight: the request's end is the next thing that happens, not a timer.
  EXPECT_EQ(queue.next_wakeup(), std::nullopt);
}

TEST(TargetQueue, ZeroWindowSendsTheFirstEventAtOnce) {
  TargetQueue queue(options(0));
  push_occupied(queue, 1, 1, 500);
  EXPECT_EQ(queue.next_wakeup(), 500);
  ASSERT_NE(queue.take_due(500, kUnixMs), nullptr);
}

TEST(TargetQueue, AFullBatchIsDueAtOnceAndHoldsAtMostTheMaximum) {
  TargetQueue queue(options(50, 3));
  push_occupied(queue, 1, 2, 1000);
  EXPECT_EQ(queue.take_due(1001, kUnixMs), nullptr);
  push_occupied(queue, 3, 5, 1001);
  const TargetQueue::Batch* batch = queue.take_due(1001, kUnixMs);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->events, 3u);
  EXPECT_EQ(batch->body, body_of(occupied_range(1, 3)));
}

TEST(TargetQueue, NextBatchWaitsForTheCurrentOneAndKeepsTheOrder) {
  TargetQueue queue(options(50, 2));
  push_occupied(queue, 1, 5, 1000);
  ASSERT_NE(queue.take_due(1000, kUnixMs), nullptr);
  // Events 3..5 are due (a full batch is waiting), but one batch at a time.
  EXPECT_EQ(queue.take_due(2000, kUnixMs), nullptr);
  EXPECT_EQ(queue.held_events(), 5u);

  queue.on_success();
  const TargetQueue::Batch* second = queue.take_due(2000, kUnixMs);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->body, body_of(occupied_range(3, 4)));
  queue.on_success();
  // Event 5 has waited its window long ago.
  const TargetQueue::Batch* third = queue.take_due(2000, kUnixMs);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->body, body_of(occupied_range(5, 5)));
  queue.on_success();
  EXPECT_TRUE(queue.idle());
  EXPECT_EQ(queue.counters().events_delivered, 5u);
  EXPECT_EQ(queue.counters().batches_delivered, 3u);
}

TEST(TargetQueue, EventsQueuedDuringARequestKeepTheirOwnWindow) {
  TargetQueue queue(options(50));
  push_occupied(queue, 1, 1, 1000);
  ASSERT_NE(queue.take_due(1050, kUnixMs), nullptr);
  push_occupied(queue, 2, 2, 1060);
  queue.on_success();
  EXPECT_EQ(queue.next_wakeup(), 1110);
  EXPECT_EQ(queue.take_due(1070, kUnixMs), nullptr);
  ASSERT_NE(queue.take_due(1110, kUnixMs), nullptr);
}

TEST(TargetQueue, FailedBatchIsRetriedWithExponentialBackoffUnchanged) {
  TargetQueue queue(options(0));
  push_occupied(queue, 1, 1, 0);
  const TargetQueue::Batch* first = queue.take_due(0, kUnixMs);
  ASSERT_NE(first, nullptr);
  const std::string body = first->body;
  const std::string signature = first->signature;

  core::Millis now = 0;
  const std::vector<core::Millis> delays{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    now += 100;  // the attempt took 100 ms to fail
    const TargetQueue::Failure failure = queue.on_failure(now);
    ASSERT_FALSE(failure.dropped) << "attempt " << i + 1;
    EXPECT_EQ(failure.retry_at, now + delays[i]) << "attempt " << i + 1;
    EXPECT_EQ(queue.next_wakeup(), now + delays[i]);
    EXPECT_EQ(queue.take_due(now + delays[i] - 1, kUnixMs + now), nullptr);
    now += delays[i];
    const TargetQueue::Batch* retry = queue.take_due(now, kUnixMs + now);
    ASSERT_NE(retry, nullptr);
    EXPECT_EQ(retry->attempts, static_cast<int>(i) + 2);
    // Same bytes, same time_ms, same signature: the receiver sees a delayed delivery.
    EXPECT_EQ(retry->body, body);
    EXPECT_EQ(retry->signature, signature);
  }
  queue.on_success();
  EXPECT_EQ(queue.counters().events_delivered, 1u);
  EXPECT_EQ(queue.counters().failed_attempts, delays.size());
}

TEST(TargetQueue, BatchIsDroppedWhenTheNextRetryWouldStartAfterTheRetryTime) {
  TargetQueue queue(options(0, 100, 10'000));
  push_occupied(queue, 1, 2, 0);
  ASSERT_NE(queue.take_due(0, kUnixMs), nullptr);
  // Retries at 1 s, 3 s, 7 s; the next would be at 15 s > 10 s.
  core::Millis now = 0;
  for (core::Millis retry_at : {1000, 3000, 7000}) {
    ASSERT_FALSE(queue.on_failure(now).dropped);
    now = retry_at;
    ASSERT_NE(queue.take_due(now, kUnixMs), nullptr);
  }
  const TargetQueue::Failure failure = queue.on_failure(now);
  EXPECT_TRUE(failure.dropped);
  EXPECT_EQ(failure.events, 2u);
  EXPECT_EQ(failure.attempts, 4);
  EXPECT_TRUE(queue.idle());
  EXPECT_EQ(queue.counters().events_dropped_after_retries, 2u);
  EXPECT_EQ(queue.counters().batches_dropped, 1u);
}

TEST(TargetQueue, ZeroRetryTimeMeansOneAttempt) {
  TargetQueue queue(options(0, 100, 0));
  push_occupied(queue, 1, 1, 0);
  ASSERT_NE(queue.take_due(0, kUnixMs), nullptr);
  EXPECT_TRUE(queue.on_failure(5).dropped);
}

TEST(TargetQueue, AfterADroppedBatchTheNextOneGoesOut) {
  TargetQueue queue(options(0, 1, 0));
  push_occupied(queue, 1, 2, 0);
  ASSERT_NE(queue.take_due(0, kUnixMs), nullptr);
  ASSERT_TRUE(queue.on_failure(10).dropped);
  const TargetQueue::Batch* next = queue.take_due(10, kUnixMs);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->body, body_of(occupied_range(2, 2)));
}

TEST(TargetQueue, EventsBeyondTheQueueLimitAreDroppedAndCounted) {
  TargetQueue queue(options(50, 2, 300'000, 3));
  push_occupied(queue, 1, 3, 0);
  EXPECT_EQ(queue.push(EventType::ChannelOccupied, occupied(4), 0),
            TargetQueue::Pushed::DroppedQueueFull);
  // Events in flight count too: sending a batch does not make room.
  ASSERT_NE(queue.take_due(0, kUnixMs), nullptr);
  EXPECT_EQ(queue.push(EventType::ChannelOccupied, occupied(5), 1),
            TargetQueue::Pushed::DroppedQueueFull);
  queue.on_success();
  EXPECT_EQ(queue.push(EventType::ChannelOccupied, occupied(6), 2), TargetQueue::Pushed::Queued);
  EXPECT_EQ(queue.counters().events_dropped_queue_full, 2u);
  EXPECT_EQ(queue.counters().events_queued, 4u);

  // What was kept is delivered in order, without the dropped ones.
  const TargetQueue::Batch* batch = queue.take_due(100, kUnixMs);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->body, body_of({occupied(3), occupied(6)}));
}

TEST(TargetQueue, QueueFullDropsAreReportedAtOnceThenAtMostEveryInterval) {
  TargetQueue queue(options(50, 100, 300'000, 1));
  push_occupied(queue, 1, 1, 0);
  EXPECT_EQ(queue.take_drop_report(0), 0u);
  queue.push(EventType::ChannelOccupied, occupied(2), 10);
  EXPECT_EQ(queue.next_wakeup(), 0);  // a report is due at once
  EXPECT_EQ(queue.take_drop_report(10), 1u);

  for (int n = 0; n < 500; ++n) queue.push(EventType::ChannelOccupied, occupied(n), 20);
  EXPECT_EQ(queue.take_drop_report(20), 0u);
  EXPECT_EQ(queue.take_drop_report(10 + kDropReportIntervalMs - 1), 0u);
  // The queue wakes its owner up for the report even if nothing else happens.
  ASSERT_NE(queue.take_due(50, kUnixMs), nullptr);
  EXPECT_EQ(queue.next_wakeup(), 10 + kDropReportIntervalMs);
  EXPECT_EQ(queue.take_drop_report(10 + kDropReportIntervalMs), 500u);
  EXPECT_EQ(queue.take_drop_report(10 + 3 * kDropReportIntervalMs), 0u);
  EXPECT_EQ(queue.counters().events_dropped_queue_full, 501u);
}

TEST(TargetQueue, OnlyTheWantedEventTypesAreQueued) {
  TargetOptions o = options(0);
  o.event_types = EventTypeSet::from_names({"member_added", "member_removed"});
  TargetQueue queue(o);
  EXPECT_FALSE(queue.wants(EventType::ChannelOccupied));
  EXPECT_TRUE(queue.wants(EventType::MemberAdded));
  EXPECT_EQ(queue.push(EventType::ChannelOccupied, occupied(1), 0), TargetQueue::Pushed::Filtered);
  EXPECT_EQ(queue.push(EventType::ClientEvent, "{}", 0), TargetQueue::Pushed::Filtered);
  const std::string added = member_event_json(EventType::MemberAdded, "presence-a", "7");
  const std::string removed = member_event_json(EventType::MemberRemoved, "presence-a", "7");
  EXPECT_EQ(queue.push(EventType::MemberAdded, added, 0), TargetQueue::Pushed::Queued);
  EXPECT_EQ(queue.push(EventType::ChannelVacated, occupied(2), 0), TargetQueue::Pushed::Filtered);
  EXPECT_EQ(queue.push(EventType::MemberRemoved, removed, 0), TargetQueue::Pushed::Queued);
  const TargetQueue::Batch* batch = queue.take_due(0, kUnixMs);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->body, body_of({added, removed}));
  EXPECT_EQ(queue.counters().events_queued, 2u);
}

TEST(TargetQueue, DrainingSendsAtOnceAndDropsOnTheNextFailure) {
  TargetQueue queue(options(50, 100, 300'000));
  push_occupied(queue, 1, 1, 0);
  ASSERT_NE(queue.take_due(50, kUnixMs), nullptr);
  ASSERT_FALSE(queue.on_failure(60).dropped);
  push_occupied(queue, 2, 2, 70);

  queue.drain();
  // The batch in backoff is retried now, not in a second.
  EXPECT_EQ(queue.next_wakeup(), 0);
  ASSERT_NE(queue.take_due(80, kUnixMs), nullptr);
  EXPECT_TRUE(queue.on_failure(90).dropped);
  // The next batch does not wait for its window.
  const TargetQueue::Batch* next = queue.take_due(90, kUnixMs);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->body, body_of(occupied_range(2, 2)));
  queue.on_success();
  EXPECT_TRUE(queue.idle());
}

}  // namespace
}  // namespace greendot::webhooks
