// A token bucket: `rate` events per second on average, bursts up to `rate`.
// Small enough (16 bytes) to live in every connection.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/time.hpp"

namespace greendot::core {

class RateLimiter {
 public:
  // Returns true and spends a token when one is available at `now`.
  bool try_acquire(std::uint32_t rate_per_second, Millis now) {
    if (rate_per_second == 0) return false;
    // Tokens are kept in thousandths so that refill needs no floating point.
    const std::int64_t capacity = std::int64_t{rate_per_second} * 1000;
    if (last_ == kNever) {
      milli_tokens_ = capacity;
    } else if (now > last_) {
      milli_tokens_ = std::min(capacity, milli_tokens_ + (now - last_) * rate_per_second);
    }
    last_ = std::max(last_, now);
    if (milli_tokens_ < 1000) return false;
    milli_tokens_ -= 1000;
    return true;
  }

 private:
  static constexpr Millis kNever = INT64_MIN;
  Millis last_ = kNever;
  std::int64_t milli_tokens_ = 0;
};

}  // namespace greendot::core
