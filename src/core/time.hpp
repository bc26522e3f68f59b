// Time in the core is a plain number of milliseconds on a monotonic clock, passed in by the
// caller. The core never reads a clock itself, so tests drive it with any time they like.
#pragma once

#include <cstdint>

namespace greendot::core {

using Millis = std::int64_t;

}  // namespace greendot::core
