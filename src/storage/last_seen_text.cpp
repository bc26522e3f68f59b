#include "storage/last_seen_text.hpp"

namespace greendot::storage {

std::string approximate_last_seen(std::int64_t last_seen_ms, std::int64_t now_ms) {
  constexpr std::uint64_t kDay = 24ULL * 60 * 60 * 1000;
  if (last_seen_ms >= now_ms) return "recently";
  // Unsigned, so that no pair of times overflows.
  const std::uint64_t ago =
      static_cast<std::uint64_t>(now_ms) - static_cast<std::uint64_t>(last_seen_ms);
  if (ago < 3 * kDay) return "recently";
  if (ago < 7 * kDay) return "within a week";
  if (ago < 30 * kDay) return "within a month";
  return "long ago";
}

}  // namespace greendot::storage
