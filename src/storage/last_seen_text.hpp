// How a last seen is shown to others when the user chose LastSeenPrivacy::Approximate.
#pragma once

#include <cstdint>
#include <string>

namespace greendot::storage {

// Telegram-like buckets, by how long ago (now_ms - last_seen_ms):
//   less than 3 days   "recently"
//   3 to 7 days        "within a week"
//   7 to 30 days       "within a month"
//   30 days or more    "long ago"
// Each bound belongs to the later bucket (exactly 3 days ago is "within a week"). A last seen
// in the future (clocks of two nodes disagreeing) is "recently".
std::string approximate_last_seen(std::int64_t last_seen_ms, std::int64_t now_ms);

}  // namespace greendot::storage
