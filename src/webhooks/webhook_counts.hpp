// Webhook requests answered and failed since start, for the dashboard's charts. Written by the
// dispatcher thread, read from any (relaxed: statistics, ordered with nothing).
#pragma once

#include <atomic>
#include <cstdint>

namespace greendot::webhooks {

struct WebhookCounts {
  std::atomic<std::uint64_t> delivered{0};  // POSTs the receiver answered with 2xx
  std::atomic<std::uint64_t> failed{0};     // POSTs that failed (error status, timeout, refused)
};

}  // namespace greendot::webhooks
