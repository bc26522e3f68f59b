// Whether the configured limits can be honoured together: every frame one event can produce
// must fit in a connection's outbound queue, or the server itself would drop every recipient
// of such an event as a slow consumer (4100).
#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace greendot::config {

// One line per pair of limits that contradict each other, naming the keys and the value that
// would reconcile them; empty when the settings are consistent.
std::vector<std::string> contradicting_limits(const Settings& settings);

}  // namespace greendot::config
