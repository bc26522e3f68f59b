#include "auth/origin_policy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_map>

namespace greendot::auth {

namespace {

constexpr auto kRefusalLogInterval = std::chrono::minutes(1);
// Distinct origins remembered for rate limiting; a flood of made-up origins forgets them all.
constexpr std::size_t kMaxRememberedOrigins = 1024;

}  // namespace

bool origin_allowed(const config::AppConfig& app, std::string_view origin) {
  if (origin.empty()) return true;
  return std::any_of(
      app.allowed_origins.begin(), app.allowed_origins.end(),
      [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

void add_cors_headers(Headers& headers, std::string_view origin) {
  if (origin.empty()) return;
  headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  headers.emplace_back("Vary", "Origin");
}

Headers preflight_headers(std::string_view origin, std::string_view methods) {
  Headers headers{{"Access-Control-Allow-Methods", std::string(methods)},
                  {"Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"},
                  {"Access-Control-Max-Age", "600"}};
  add_cors_headers(headers, origin);
  return headers;
}

void log_refused_origin(const config::AppConfig& app, std::string_view origin) {
  using Clock = std::chrono::steady_clock;
  static std::mutex mutex;
  static std::unordered_map<std::string, Clock::time_point> last_logged;
  static std::unordered_map<std::string, std::uint64_t> refused_since;
  const std::string key = app.id + "\n" + std::string(origin);
  const auto now = Clock::now();
  std::uint64_t count = 0;
  {
    std::lock_guard lock(mutex);
    if (last_logged.size() > kMaxRememberedOrigins) {
      last_logged.clear();
      refused_since.clear();
    }
    ++refused_since[key];
    auto [it, first] = last_logged.try_emplace(key, now);
    if (!first && now - it->second < kRefusalLogInterval) return;
    it->second = now;
    count = std::exchange(refused_since[key], 0);
  }
  spdlog::warn(
      "app {}: refused {} request(s) from origin {}: not in allowed_origins (add it to the app's "
      "allowed_origins to let its pages in)",
      app.id, count, origin);
}

}  // namespace greendot::auth
