#include "webhooks/target_queue.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "webhooks/webhook_body.hpp"

namespace greendot::webhooks {
namespace {

constexpr core::Millis kFirstBackoffMs = 1000;
constexpr core::Millis kMaxBackoffMs = 60'000;

}  // namespace

core::Millis backoff_delay(int failures) {
  // The shift is capped long before it could overflow; the result is capped at 60 s anyway.
  const int doublings = std::clamp(failures - 1, 0, 16);
  return std::min(kFirstBackoffMs << doublings, kMaxBackoffMs);
}

TargetQueue::TargetQueue(TargetOptions options) : options_(std::move(options)) {
  options_.batch_max_events = std::max<std::size_t>(options_.batch_max_events, 1);
}

TargetQueue::Pushed TargetQueue::push(EventType type, std::string event_json, core::Millis now) {
  if (!wants(type)) return Pushed::Filtered;
  // The newest event is the one dropped: what is already queued keeps its order and its place.
  if (held_events() >= options_.queue_limit) {
    ++counters_.events_dropped_queue_full;
    ++unreported_drops_;
    return Pushed::DroppedQueueFull;
  }
  pending_.push_back({std::move(event_json), now});
  ++counters_.events_queued;
  return Pushed::Queued;
}

std::optional<core::Millis> TargetQueue::batch_due_at() const {
  if (pending_.empty()) return std::nullopt;
  const core::Millis oldest = pending_.front().queued_at;
  if (draining_ || pending_.size() >= options_.batch_max_events) return oldest;
  return oldest + options_.batch_ms;
}

void TargetQueue::form_batch(core::Millis now, std::int64_t unix_ms) {
  const std::size_t count = std::min(pending_.size(), options_.batch_max_events);
  std::vector<std::string> events;
  events.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    events.push_back(std::move(pending_.front().json));
    pending_.pop_front();
  }
  Batch batch;
  batch.body = webhook_body(unix_ms, events);
  batch.signature = webhook_signature(options_.secret, batch.body);
  batch.events = count;
  batch.first_attempt = now;
  batch.retry_at = now;
  in_flight_ = std::move(batch);
}

const TargetQueue::Batch* TargetQueue::take_due(core::Millis now, std::int64_t unix_ms) {
  if (!in_flight_) {
    const auto due = batch_due_at();
    if (!due || *due > now) return nullptr;
    form_batch(now, unix_ms);
  } else if (in_flight_->sending || in_flight_->retry_at > now) {
    return nullptr;
  }
  in_flight_->sending = true;
  ++in_flight_->attempts;
  return &*in_flight_;
}

void TargetQueue::on_success() {
  if (!in_flight_) return;
  counters_.events_delivered += in_flight_->events;
  ++counters_.batches_delivered;
  in_flight_.reset();
}

TargetQueue::Failure TargetQueue::on_failure(core::Millis now) {
  Failure failure;
  if (!in_flight_) return failure;
  ++counters_.failed_attempts;
  Batch& batch = *in_flight_;
  batch.sending = false;
  failure.events = batch.events;
  failure.attempts = batch.attempts;
  failure.retry_at = now + backoff_delay(batch.attempts);
  // A retry that could not start within the retry time is not attempted at all.
  if (draining_ || failure.retry_at > batch.first_attempt + options_.retry_ms) {
    failure.dropped = true;
    counters_.events_dropped_after_retries += batch.events;
    ++counters_.batches_dropped;
    in_flight_.reset();
    return failure;
  }
  batch.retry_at = failure.retry_at;
  return failure;
}

std::optional<core::Millis> TargetQueue::next_wakeup() const {
  std::optional<core::Millis> wake;
  if (!in_flight_) {
    wake = batch_due_at();
  } else if (!in_flight_->sending) {
    wake = in_flight_->retry_at;
  }
  if (unreported_drops_ > 0) {
    // Never reported yet: due at once (any time in the past will do).
    const core::Millis report_at =
        last_drop_report_ ? *last_drop_report_ + kDropReportIntervalMs : 0;
    wake = wake ? std::min(*wake, report_at) : report_at;
  }
  return wake;
}

std::uint64_t TargetQueue::take_drop_report(core::Millis now) {
  if (unreported_drops_ == 0) return 0;
  if (last_drop_report_ && now < *last_drop_report_ + kDropReportIntervalMs) return 0;
  last_drop_report_ = now;
  return std::exchange(unreported_drops_, 0);
}

void TargetQueue::drain() {
  draining_ = true;
  if (in_flight_ && !in_flight_->sending) in_flight_->retry_at = 0;
}

std::size_t TargetQueue::held_events() const {
  return pending_.size() + (in_flight_ ? in_flight_->events : 0);
}

}  // namespace greendot::webhooks
