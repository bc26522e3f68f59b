// WebhookDispatcher: delivers every app's webhooks from one thread of its own, so that a slow or
// dead receiver never slows presence, and each target waits only for itself.
//
// Threads: emit() may be called from any thread at any time; it checks (without a lock) whether
// any target of the app wants the event type, then appends to an inbox under a mutex and posts
// at most one wake-up to the dispatcher's io_context. Everything else (queues, timers, HTTP)
// lives on the dispatcher thread. start() and stop() are called once each, from a thread other
// than the dispatcher's (e.g. the server's main thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "core/presence_book.hpp"
#include "webhooks/webhook_counts.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::webhooks {

class WebhookDispatcher final : public WebhookSink {
 public:
  // `apps` in AppIndex order, i.e. in settings order as the server's AppRegistry numbers them.
  // URLs must have passed the config loader's checks. Nothing runs until start().
  explicit WebhookDispatcher(const std::vector<config::AppConfig>& apps);
  // Calls stop().
  ~WebhookDispatcher() override;

  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Whether any app has a webhook target; without one, start() need not be called (emit() is
  // then a bounds check and a bit test).
  bool has_targets() const;

  // Starts the dispatcher thread. Events emitted before are kept and sent once it runs.
  void start();

  // Stops accepting events, sends what is queued without waiting for batching windows or
  // backoffs (a failure now drops the batch) for at most `flush_for`, then stops the thread and
  // logs what had to be abandoned. Idempotent; events emitted afterwards are ignored.
  void stop(std::chrono::milliseconds flush_for = std::chrono::seconds(1));

  void emit(core::AppIndex app, EventType type, std::string event_json) override;
  bool wants(core::AppIndex app, EventType type) const override;

  // Requests answered and failed so far (readable from any thread).
  const WebhookCounts& counts() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace greendot::webhooks
