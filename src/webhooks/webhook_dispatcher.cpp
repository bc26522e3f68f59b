#include "webhooks/webhook_dispatcher.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "config/http_url.hpp"
#include "webhooks/event_type_set.hpp"
#include "webhooks/http_post.hpp"
#include "webhooks/target_queue.hpp"

namespace greendot::webhooks {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

core::Millis monotonic_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How often an overflowing inbox (the dispatcher thread falling behind emit()) is logged at most.
constexpr core::Millis kInboxWarningIntervalMs = 10'000;

// One URL of one app: its queue (the decisions) and its timer (the wake-ups the queue asks for).
struct Target {
  Target(asio::io_context& io, const config::AppConfig& app, const config::WebhookTarget& target)
      : app_id(app.id),
        app_key(app.key),
        url_text(target.url),
        url(config::parse_http_url(target.url)),
        timeout(app.webhook_timeout_ms),
        queue({EventTypeSet::from_names(target.event_types), app.webhook_batch_ms,
               app.webhook_batch_max_events,
               static_cast<core::Millis>(app.webhook_retry_seconds) * 1000, app.webhook_queue_limit,
               app.secret}),
        timer(io) {}

  std::string app_id;
  std::string app_key;
  std::string url_text;
  config::HttpUrl url;
  milliseconds timeout;
  TargetQueue queue;
  asio::steady_timer timer;
  std::optional<core::Millis> armed_at;  // what `timer` waits for, if anything
  std::uint64_t timer_generation = 0;    // tells a superseded wait from the current one
  bool touched = false;                  // scratch, while an inbox is drained
};

struct AppTargets {
  EventTypeSet wanted;  // union over the targets: decides in emit() whether to queue at all
  std::vector<Target*> targets;
};

struct Emitted {
  core::AppIndex app;
  EventType type;
  std::string json;
};

}  // namespace

class WebhookDispatcher::Impl {
 public:
  WebhookCounts counts_;

  explicit Impl(const std::vector<config::AppConfig>& apps) : io_(1), stop_timer_(io_) {
    apps_.resize(apps.size());
    for (std::size_t i = 0; i < apps.size(); ++i) {
      for (const config::WebhookTarget& target : apps[i].webhooks) {
        targets_.push_back(std::make_unique<Target>(io_, apps[i], target));
        apps_[i].targets.push_back(targets_.back().get());
        apps_[i].wanted.add(EventTypeSet::from_names(target.event_types));
        // The inbox only bridges threads; it may hold what every queue could hold, no more.
        inbox_limit_ += apps[i].webhook_queue_limit;
      }
    }
  }

  bool has_targets() const { return !targets_.empty(); }

  void start() {
    if (targets_.empty() || thread_.joinable()) return;
    spdlog::info("webhooks: {} target(s)", targets_.size());
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop(milliseconds flush_for) {
    {
      const std::lock_guard lock(mutex_);
      accepting_ = false;
    }
    if (!thread_.joinable()) return;
    asio::post(io_, [this, flush_for] { begin_stop(flush_for); });
    thread_.join();
    for (const auto& target : targets_) {
      if (const std::size_t left = target->queue.held_events()) {
        spdlog::warn("webhooks: {} of app {}: {} event(s) not delivered before shutdown",
                     target->url_text, target->app_id, left);
      }
    }
  }

  // Lock-free: apps_ never changes after construction.
  bool wants(core::AppIndex app, EventType type) const {
    return app < apps_.size() && apps_[app].wanted.contains(type);
  }

  void emit(core::AppIndex app, EventType type, std::string json) {
    if (!wants(app, type)) return;
    bool wake = false;
    {
      const std::lock_guard lock(mutex_);
      if (!accepting_) return;
      if (inbox_.size() >= inbox_limit_) {
        ++inbox_dropped_;
        return;
      }
      inbox_.push_back({app, type, std::move(json)});
      wake = !drain_posted_;
      drain_posted_ = true;
    }
    if (wake) asio::post(io_, [this] { drain_inbox(); });
  }

 private:
  void drain_inbox() {
    std::vector<Emitted> emitted;
    std::uint64_t inbox_dropped = 0;
    {
      const std::lock_guard lock(mutex_);
      emitted.swap(inbox_);
      drain_posted_ = false;
      inbox_dropped = std::exchange(inbox_dropped_, 0);
    }
    const core::Millis now = monotonic_ms();
    report_inbox_drops(inbox_dropped, now);
    std::vector<Target*> touched;
    for (Emitted& event : emitted) {
      const std::vector<Target*>& targets = apps_[event.app].targets;
      for (std::size_t i = 0; i < targets.size(); ++i) {
        Target& target = *targets[i];
        // Only the last target may take the string; the others get copies.
        std::string json = i + 1 == targets.size() ? std::move(event.json) : event.json;
        if (target.queue.push(event.type, std::move(json), now) == TargetQueue::Pushed::Filtered) {
          continue;
        }
        if (!target.touched) touched.push_back(&target);
        target.touched = true;
      }
    }
    for (Target* target : touched) {
      target->touched = false;
      pump(*target);
    }
  }

  void report_inbox_drops(std::uint64_t dropped, core::Millis now) {
    inbox_dropped_unreported_ += dropped;
    if (inbox_dropped_unreported_ == 0) return;
    if (last_inbox_warning_ && now < *last_inbox_warning_ + kInboxWarningIntervalMs) return;
    spdlog::warn("webhooks: dropped {} event(s): the webhook thread is falling behind",
                 inbox_dropped_unreported_);
    inbox_dropped_unreported_ = 0;
    last_inbox_warning_ = now;
  }

  // Does whatever the target's queue says is due now, and waits for the next thing it names.
  void pump(Target& target) {
    const core::Millis now = monotonic_ms();
    if (const std::uint64_t dropped = target.queue.take_drop_report(now)) {
      spdlog::warn(
          "webhooks: {} of app {}: dropped {} event(s) because its queue is full "
          "(webhook_queue_limit); the receiver is down or too slow",
          target.url_text, target.app_id, dropped);
    }
    if (const TargetQueue::Batch* batch = target.queue.take_due(now, unix_ms())) {
      send(target, *batch);
    }
    arm(target, target.queue.next_wakeup());
  }

  void arm(Target& target, std::optional<core::Millis> wake_at) {
    if (wake_at == target.armed_at) return;
    target.armed_at = wake_at;
    const std::uint64_t generation = ++target.timer_generation;
    if (!wake_at) {
      target.timer.cancel();
      return;
    }
    target.timer.expires_at(std::chrono::steady_clock::time_point(milliseconds(*wake_at)));
    target.timer.async_wait([this, &target, generation](boost::system::error_code ec) {
      if (ec || generation != target.timer_generation) return;
      target.armed_at.reset();
      pump(target);
    });
  }

  void send(Target& target, const TargetQueue::Batch& batch) {
    spdlog::debug("webhooks: POST {} events to {} (attempt {})", batch.events, target.url_text,
                  batch.attempts);
    const HttpHeaders headers{
        {"Content-Type", "application/json"},
        {"X-Pusher-Key", target.app_key},
        {"X-Pusher-Signature", batch.signature},
        {"User-Agent", "greendot-webhooks"},
    };
    async_http_post(io_, target.url, headers, batch.body, target.timeout,
                    [this, &target](HttpPostResult result) { on_result(target, result); });
  }

  void on_result(Target& target, const HttpPostResult& result) {
    (result.ok ? counts_.delivered : counts_.failed).fetch_add(1, std::memory_order_relaxed);
    if (result.ok) {
      target.queue.on_success();
    } else {
      const TargetQueue::Failure failure = target.queue.on_failure(monotonic_ms());
      if (failure.dropped) {
        spdlog::warn(
            "webhooks: {} of app {}: dropped a batch of {} event(s) after {} attempt(s) ({}); "
            "last error: {}",
            target.url_text, target.app_id, failure.events, failure.attempts,
            stopping_ ? "shutting down" : "webhook_retry_seconds", result.error);
      } else {
        spdlog::warn("webhooks: {} of app {}: {}; retrying in {} ms", target.url_text,
                     target.app_id, result.error, failure.retry_at - monotonic_ms());
      }
    }
    pump(target);
    if (stopping_) stop_if_idle();
  }

  void begin_stop(milliseconds flush_for) {
    stopping_ = true;
    drain_inbox();
    for (const auto& target : targets_) {
      target->queue.drain();
      pump(*target);
    }
    stop_timer_.expires_after(flush_for);
    stop_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) io_.stop();
    });
    stop_if_idle();
  }

  void stop_if_idle() {
    for (const auto& target : targets_) {
      if (!target->queue.idle()) return;
    }
    io_.stop();
  }

  // Declared first so that it is destroyed last: the timers and pending requests use it.
  asio::io_context io_;
  // run() must not return merely because nothing is pending yet.
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  asio::steady_timer stop_timer_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<AppTargets> apps_;  // by AppIndex
  std::thread thread_;
  bool stopping_ = false;  // dispatcher thread only

  // Shared with emit().
  std::mutex mutex_;
  std::vector<Emitted> inbox_;
  std::size_t inbox_limit_ = 0;
  std::uint64_t inbox_dropped_ = 0;
  bool drain_posted_ = false;
  bool accepting_ = true;

  // Dispatcher thread only.
  std::uint64_t inbox_dropped_unreported_ = 0;
  std::optional<core::Millis> last_inbox_warning_;
};

WebhookDispatcher::WebhookDispatcher(const std::vector<config::AppConfig>& apps)
    : impl_(std::make_unique<Impl>(apps)) {}

const WebhookCounts& WebhookDispatcher::counts() const {
  return impl_->counts_;
}

WebhookDispatcher::~WebhookDispatcher() {
  stop();
}

bool WebhookDispatcher::has_targets() const {
  return impl_->has_targets();
}

void WebhookDispatcher::start() {
  impl_->start();
}

void WebhookDispatcher::stop(milliseconds flush_for) {
  impl_->stop(flush_for);
}

bool WebhookDispatcher::wants(core::AppIndex app, EventType type) const {
  return impl_->wants(app, type);
}

void WebhookDispatcher::emit(core::AppIndex app, EventType type, std::string event_json) {
  impl_->emit(app, type, std::move(event_json));
}

}  // namespace greendot::webhooks
