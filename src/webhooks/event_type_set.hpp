// A set of webhook event types, as a bit mask: what one target wants, or (the union over an
// app's targets) whether an event is worth queueing at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "webhooks/webhook_sink.hpp"

namespace greendot::webhooks {

// The type named `name` on the wire and in the config, if there is one.
std::optional<EventType> event_type_from_name(std::string_view name);

class EventTypeSet {
 public:
  EventTypeSet() = default;
  // Unknown names are ignored: the config loader has already rejected them.
  static EventTypeSet from_names(const std::vector<std::string>& names);
  static EventTypeSet all();

  void add(EventType type) { bits_ |= bit(type); }
  void add(EventTypeSet other) { bits_ |= other.bits_; }
  bool contains(EventType type) const { return (bits_ & bit(type)) != 0; }
  bool empty() const { return bits_ == 0; }

 private:
  static std::uint8_t bit(EventType type) {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(type));
  }

  std::uint8_t bits_ = 0;
};

}  // namespace greendot::webhooks
