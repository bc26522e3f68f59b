// What the dashboard charts: messages in and out of every event-loop thread, counted with
// relaxed atomic increments on counters of each thread's own (no line shared between
// threads), summed only when read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace greendot::server {

struct TrafficTotals {
  std::uint64_t messages_in = 0;   // WebSocket messages received from clients
  std::uint64_t messages_out = 0;  // messages sent to clients (WebSocket frames, SSE events)
};

class TrafficCounters {
 public:
  // As many as server.threads allows; one cache line each.
  static constexpr unsigned kMaxThreads = 1024;

  struct alignas(64) Thread {
    std::atomic<std::uint64_t> messages_in{0};
    std::atomic<std::uint64_t> messages_out{0};
  };

  Thread& thread(unsigned index) { return threads_[index % kMaxThreads]; }

  TrafficTotals totals() const {
    TrafficTotals sum;
    for (const auto& t : threads_) {
      sum.messages_in += t.messages_in.load(std::memory_order_relaxed);
      sum.messages_out += t.messages_out.load(std::memory_order_relaxed);
    }
    return sum;
  }

 private:
  std::array<Thread, kMaxThreads> threads_{};
};

// A relaxed increment: these are statistics, ordered with nothing.
inline void count(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace greendot::server
