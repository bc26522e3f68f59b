// One string key for a name (a user, a channel) inside an app: apps share nothing, so every
// per-user or per-channel map of the engine is keyed by both. '\n' cannot occur in an app
// index's digits, so no two pairs give the same key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace greendot::core {

using AppIndex = std::uint32_t;

inline std::string app_key(AppIndex app, std::string_view name) {
  std::string key = std::to_string(app);
  key.push_back('\n');
  key.append(name);
  return key;
}

}  // namespace greendot::core
