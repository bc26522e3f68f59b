// DeadlineQueue: pending "do this at time T" entries, earliest first, cancelled lazily.
//
// Graces and expiries are cancelled far more often than they fire (a reload returns inside
// the grace), so nothing is removed on cancel: the owner bumps a generation number and a
// stale entry is recognised and skipped when it surfaces. O(log n) per schedule and per due
// entry, no scan.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/time.hpp"

namespace greendot::core {

template <class Key>
class DeadlineQueue {
 public:
  void schedule(Millis at, Key key, std::uint64_t generation) {
    entries_.push_back(Entry{at, std::move(key), generation});
    std::push_heap(entries_.begin(), entries_.end(), Later{});
  }

  // Calls due(key, generation) for every entry whose time is at or before `now`, in time order.
  template <class Due>
  void pop_due(Millis now, Due&& due) {
    while (!entries_.empty() && entries_.front().at <= now) {
      std::pop_heap(entries_.begin(), entries_.end(), Later{});
      Entry entry = std::move(entries_.back());
      entries_.pop_back();
      due(entry.key, entry.generation);
    }
  }

  std::optional<Millis> next() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.front().at;
  }

 private:
  struct Entry {
    Millis at;
    Key key;
    std::uint64_t generation;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return a.at > b.at; }
  };
  std::vector<Entry> entries_;
};

}  // namespace greendot::core
