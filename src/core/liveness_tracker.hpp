// LivenessTracker: which connections have been silent too long, without a timer per connection.
//
// Connections sit in two intrusive lists ordered by the time they entered them: `active`
// (heard from at `since`) and `pinged` (a ping went out at `since`). Both timeouts are the
// same for every entry, so each list stays sorted by deadline and a sweep only looks at the
// heads that are due: O(due) work per sweep, O(1) per message, no allocation.
#pragma once

#include "core/time.hpp"

namespace greendot::core {

class LivenessEntry {
 public:
  LivenessEntry() = default;
  LivenessEntry(const LivenessEntry&) = delete;
  LivenessEntry& operator=(const LivenessEntry&) = delete;
  bool tracked() const { return list_ != nullptr; }

 private:
  friend class LivenessTracker;
  LivenessEntry* prev_ = nullptr;
  LivenessEntry* next_ = nullptr;
  void* list_ = nullptr;  // which list holds this entry
  Millis since_ = 0;
};

class LivenessTracker {
 public:
  LivenessTracker(Millis activity_timeout, Millis pong_timeout)
      : activity_timeout_(activity_timeout), pong_timeout_(pong_timeout) {}
  LivenessTracker(const LivenessTracker&) = delete;
  LivenessTracker& operator=(const LivenessTracker&) = delete;

  // Starts tracking, or records activity: the entry is heard from at `now`.
  void touch(LivenessEntry& entry, Millis now) {
    unlink(entry);
    append(active_, entry, now);
  }

  void remove(LivenessEntry& entry) { unlink(entry); }

  // Calls ping(entry) for entries silent for the activity timeout (they move to the pinged
  // list) and expire(entry) for entries whose ping went unanswered for the pong timeout (they
  // are no longer tracked when expire runs, so it may destroy them).
  template <class Ping, class Expire>
  void sweep(Millis now, Ping&& ping, Expire&& expire) {
    while (pinged_.head && pinged_.head->since_ + pong_timeout_ <= now) {
      LivenessEntry& entry = *pinged_.head;
      unlink(entry);
      expire(entry);
    }
    while (active_.head && active_.head->since_ + activity_timeout_ <= now) {
      LivenessEntry& entry = *active_.head;
      unlink(entry);
      append(pinged_, entry, now);
      ping(entry);
    }
  }

 private:
  struct List {
    LivenessEntry* head = nullptr;
    LivenessEntry* tail = nullptr;
  };

  void append(List& list, LivenessEntry& entry, Millis now) {
    entry.since_ = now;
    entry.list_ = &list;
    entry.prev_ = list.tail;
    entry.next_ = nullptr;
    if (list.tail) {
      list.tail->next_ = &entry;
    } else {
      list.head = &entry;
    }
    list.tail = &entry;
  }

  void unlink(LivenessEntry& entry) {
    if (!entry.list_) return;
    List& list = *static_cast<List*>(entry.list_);
    if (entry.prev_) {
      entry.prev_->next_ = entry.next_;
    } else {
      list.head = entry.next_;
    }
    if (entry.next_) {
      entry.next_->prev_ = entry.prev_;
    } else {
      list.tail = entry.prev_;
    }
    entry.prev_ = entry.next_ = nullptr;
    entry.list_ = nullptr;
  }

  Millis activity_timeout_;
  Millis pong_timeout_;
  List active_;
  List pinged_;
};

}  // namespace greendot::core
