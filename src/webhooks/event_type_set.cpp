#include "webhooks/event_type_set.hpp"

#include <array>

namespace greendot::webhooks {
namespace {

constexpr std::array kAllTypes{EventType::ChannelOccupied, EventType::ChannelVacated,
                               EventType::MemberAdded, EventType::MemberRemoved,
                               EventType::ClientEvent};

}  // namespace

std::optional<EventType> event_type_from_name(std::string_view name) {
  for (EventType type : kAllTypes) {
    if (event_type_name(type) == name) return type;
  }
  return std::nullopt;
}

EventTypeSet EventTypeSet::from_names(const std::vector<std::string>& names) {
  EventTypeSet set;
  for (const std::string& name : names) {
    if (const auto type = event_type_from_name(name)) set.add(*type);
  }
  return set;
}

EventTypeSet EventTypeSet::all() {
  EventTypeSet set;
  for (EventType type : kAllTypes) set.add(type);
  return set;
}

}  // namespace greendot::webhooks
