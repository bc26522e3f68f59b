// What every part of the running server shares: settings, apps, and the engine behind them.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "config/settings.hpp"
#include "engine/broker.hpp"
#include "engine/presence_engine.hpp"
#include "server/app_registry.hpp"
#include "server/traffic_counters.hpp"
#include "webhooks/webhook_counts.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::server {

struct ServerContext {
  const config::ServerSettings& settings;
  AppRegistry& apps;
  engine::PresenceEngine& engine;
  engine::Broker& broker;
  webhooks::WebhookSink& webhooks;
  // Closes every connection signed in as the user, on every thread (thread-safe).
  std::function<void(core::AppIndex, const std::string&)> terminate_user;
  std::atomic<core::SessionId> next_session{1};
  std::atomic<bool> stopping{false};
  // For the dashboard: messages per thread, and the webhook dispatcher's requests.
  TrafficCounters traffic{};
  const webhooks::WebhookCounts* webhook_counts = nullptr;
  // For /metrics: the sockets held now (every kind), thread-safe; and the limit (0: none).
  std::function<std::size_t()> sockets_open{};
  std::size_t max_sockets = 0;
  // Runs `work` soon on an event-loop thread: for what an engine callback must not do itself
  // (call the engine again), thread-safe.
  std::function<void(std::function<void()> work)> run_on_loop{};
};

// Milliseconds on the monotonic clock, the time base of the core.
core::Millis now_ms();

}  // namespace greendot::server
