// EndedTabs: heartbeat tabs that said goodbye (an offline naming the tab), remembered for a
// heartbeat TTL so that a ping from the same tab that arrives late (sent before the offline,
// delivered after it) cannot bring the tab back for another TTL and grace. A handful per user
// at most: a page makes a new tab id on every load, and only recent ones can still be in
// flight.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/app_key.hpp"
#include "core/deadline_queue.hpp"
#include "core/presence_book.hpp"
#include "core/time.hpp"

namespace greendot::core {

class EndedTabs {
 public:
  static constexpr std::size_t kMaxPerUser = 16;

  // The tab ended in `channel`, or in every channel when `channel` is empty, until `until`.
  void remember(AppIndex app, std::string_view user_id, std::string_view tab,
                std::string_view channel, Millis until);
  bool ended(AppIndex app, std::string_view user_id, std::string_view tab, std::string_view channel,
             Millis now) const;
  // Forgets what is past its time.
  void advance(Millis now);
  std::size_t users() const { return users_.size(); }

 private:
  struct Ended {
    std::string tab;
    std::string channel;  // empty: every channel
    Millis until;
  };

  std::unordered_map<std::string, std::vector<Ended>> users_;
  DeadlineQueue<std::string> purges_;  // one entry per remember; a purge drops what is due
};

}  // namespace greendot::core
