// TargetQueue: every decision about one webhook target, and no I/O. It holds the target's events,
// says when a batch is due, forms and signs it, and after each attempt decides whether to retry
// (with exponential backoff), or drop. Time is passed in, so its tests run on a fake clock.
//
// Delivery is in order: one batch is in flight at a time, and the next is formed only after it
// succeeded or was dropped. The caller (WebhookDispatcher) does the HTTP request:
//
//   queue.push(type, json, now);
//   if (const Batch* batch = queue.take_due(now, unix_now)) post(batch->body, batch->signature);
//   ... queue.on_success(now) or queue.on_failure(now) when the request ends ...
//   wake up again at queue.next_wakeup()
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "webhooks/event_type_set.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::webhooks {

struct TargetOptions {
  EventTypeSet event_types = EventTypeSet::all();
  core::Millis batch_ms = 50;          // gather events this long after the oldest one
  std::size_t batch_max_events = 100;  // ... or until this many are waiting
  core::Millis retry_ms = 300'000;     // retry a failing batch this long after its first attempt
  std::size_t queue_limit = 10'000;    // events held, queued and in flight together
  std::string secret;                  // the app's, to sign bodies
};

// The wait before retry number `failures` (1 for the first retry): 1 s, 2 s, 4 s ... 60 s.
core::Millis backoff_delay(int failures);

// How often a target's "queue full" drops are logged at most, so that a flood of dropped events
// costs one log line per interval rather than one per event.
inline constexpr core::Millis kDropReportIntervalMs = 10'000;

struct TargetCounters {
  std::uint64_t events_queued = 0;
  std::uint64_t events_delivered = 0;
  std::uint64_t events_dropped_queue_full = 0;
  std::uint64_t events_dropped_after_retries = 0;
  std::uint64_t batches_delivered = 0;
  std::uint64_t batches_dropped = 0;
  std::uint64_t failed_attempts = 0;
};

class TargetQueue {
 public:
  // One formed batch. Its body (and so its time_ms and signature) stays the same across retries,
  // so a receiver can tell a delayed delivery from a fresh one.
  struct Batch {
    std::string body;
    std::string signature;
    std::size_t events = 0;
    int attempts = 0;                // started so far, this one included once taken
    core::Millis first_attempt = 0;  // when it was first taken; retries stop retry_ms after
    core::Millis retry_at = 0;       // when the next attempt may start
    bool sending = false;            // an attempt is under way
  };

  enum class Pushed { Filtered, Queued, DroppedQueueFull };

  // What became of a batch after a failed attempt.
  struct Failure {
    bool dropped = false;
    std::size_t events = 0;
    int attempts = 0;
    core::Millis retry_at = 0;  // when not dropped
  };

  explicit TargetQueue(TargetOptions options);

  bool wants(EventType type) const { return options_.event_types.contains(type); }

  // Appends an event unless the target does not want its type or the queue is full.
  Pushed push(EventType type, std::string event_json, core::Millis now);

  // The batch to send now, if one may start: a new batch (when the oldest event has waited
  // batch_ms, or batch_max_events are waiting), or a retry whose backoff is over. The batch is
  // then in flight until on_success or on_failure. `unix_ms` is the wall-clock time for time_ms.
  const Batch* take_due(core::Millis now, std::int64_t unix_ms);

  // The end of the attempt that take_due started.
  void on_success();
  Failure on_failure(core::Millis now);

  // When to call take_due (or take_drop_report) again; nothing while there is nothing to do or
  // while an attempt is under way (its end is the next event).
  std::optional<core::Millis> next_wakeup() const;

  // Queue-full drops not reported yet, if the last report is at least kDropReportIntervalMs
  // old; 0 otherwise. The first drop is reported at once.
  std::uint64_t take_drop_report(core::Millis now);

  // Shutting down: send what is queued without waiting for the batching window or a backoff,
  // and drop a batch at its next failure instead of retrying.
  void drain();

  // Nothing queued and nothing in flight.
  bool idle() const { return pending_.empty() && !in_flight_; }
  // Events queued or in flight.
  std::size_t held_events() const;
  bool sending() const { return in_flight_ && in_flight_->sending; }

  const TargetCounters& counters() const { return counters_; }

 private:
  struct Pending {
    std::string json;
    core::Millis queued_at;
  };

  std::optional<core::Millis> batch_due_at() const;
  void form_batch(core::Millis now, std::int64_t unix_ms);

  TargetOptions options_;
  std::deque<Pending> pending_;
  std::optional<Batch> in_flight_;
  bool draining_ = false;
  TargetCounters counters_;
  std::uint64_t unreported_drops_ = 0;
  std::optional<core::Millis> last_drop_report_;
};

}  // namespace greendot::webhooks
