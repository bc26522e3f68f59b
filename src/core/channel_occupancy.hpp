// ChannelOccupancy: how many subscriptions each channel has across the node (or cluster), and
// when a channel becomes occupied or vacated.
//
// A channel is occupied from its first subscription until its last one ended and the app's
// grace passed without a new one: a reload does not produce channel_vacated followed by
// channel_occupied. Pure bookkeeping, time passed in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/deadline_queue.hpp"
#include "core/presence_book.hpp"

namespace greendot::core {

class ChannelOccupancy {
 public:
  // Counts a subscription; true when it made the channel occupied.
  bool add(AppIndex app, std::string_view channel);
  // Ends a subscription; true when the channel is vacated at once (grace 0). With a grace the
  // channel is vacated by advance() unless a subscription comes back first.
  bool remove(AppIndex app, std::string_view channel, Millis now, Millis grace);
  // Appends the channels whose grace ended at or before `now`.
  void advance(Millis now, std::vector<std::pair<AppIndex, std::string>>& vacated);

  std::uint32_t subscriptions(AppIndex app, std::string_view channel) const;
  bool occupied(AppIndex app, std::string_view channel) const;

  // Calls visit(name, subscriptions) for every occupied channel of the app whose name starts
  // with `prefix`. Proportional to the app's occupied channels: for listings, not hot paths.
  template <class Visit>
  void for_each_occupied(AppIndex app, std::string_view prefix, Visit&& visit) const {
    if (app >= apps_.size()) return;
    for (const auto& [name, entry] : apps_[app]) {
      if (std::string_view(name).starts_with(prefix)) visit(name, entry.subscriptions);
    }
  }

 private:
  struct Entry {
    std::uint32_t subscriptions = 0;
    std::uint64_t generation = 0;  // bumped on every grace start
    bool vacating = false;
  };
  using Channels = std::unordered_map<std::string, Entry>;
  struct GraceKey {
    AppIndex app;
    std::string channel;
  };

  const Entry* find(AppIndex app, std::string_view channel) const;

  std::vector<Channels> apps_;  // indexed by app
  DeadlineQueue<GraceKey> graces_;
};

}  // namespace greendot::core
