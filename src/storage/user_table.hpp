// UserTable: every user's last seen and privacy in memory, plus the users changed since the
// last write. Shared by MemoryUserStore (changes not tracked) and SqliteUserStore (changes
// written in batches), so the memory side exists once.
//
// Thread-safe: one mutex guards both maps, held only for hash operations. A writer takes the
// changed users with take_changes() (a swap) and does its I/O without the lock.
//
// Memory, for millions of users: two levels of flat (open-addressing) hash maps, app id then
// user id, so an app id is stored once rather than once per user. A user is one slot of 48 bytes
// (a 32-byte std::string key holding ids of up to 15 characters inline, and a 16-byte Entry)
// plus ~1 byte of metadata; at the map's load factor of 0.44..0.875 that is 56..110 bytes.
// Measured with 1.5M..5M users: 64..77 bytes per user for short (numeric) ids, 48 more for ids
// of 16..39 characters (their own heap block). A user changed since the last write costs one
// more slot in the change map until the write.
// Growing a map rehashes it under the lock (once per doubling): at millions of users that is a
// pause of tens of milliseconds; loading reserves the stored count so that startup avoids it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>

#include <boost/unordered/unordered_flat_map.hpp>

#include "storage/user_store.hpp"

namespace greendot::storage {

class UserTable {
 public:
  // One user as kept in memory: 16 bytes (an optional<int64_t> would make it 24).
  struct Entry {
    static constexpr std::int64_t kNeverSeen = std::numeric_limits<std::int64_t>::min();
    std::int64_t last_seen_ms = kNeverSeen;
    Privacy privacy;
    bool online = false;  // marked online and not seen leaving since (see mark_online)

    UserRecord record() const;
    static Entry from(const UserRecord& record);
  };
  using Users = boost::unordered_flat_map<std::string, Entry>;
  using Apps = boost::unordered_flat_map<std::string, Users>;

  // With track_changes false nothing is remembered for a writer (MemoryUserStore).
  explicit UserTable(bool track_changes) : track_changes_(track_changes) {}

  // Keeps the latest of the stored and the given time: session ends reported out of order by
  // different threads must not move last seen backwards.
  void record_last_seen(const std::string& app_id, const std::string& user_id,
                        std::int64_t unix_ms);
  void set_privacy(const std::string& app_id, const std::string& user_id, Privacy privacy);
  void mark_online(const std::string& app_id, const std::string& user_id);
  UserRecord get(const std::string& app_id, const std::string& user_id) const;

  // Loading from storage: sets a user without marking it changed.
  void load(const std::string& app_id, const std::string& user_id, const UserRecord& record);
  void reserve(const std::string& app_id, std::size_t users);

  // The users changed since the last call, with their current values; the table starts a new
  // empty change set. O(1) under the lock.
  Apps take_changes();
  // A write of `unwritten` failed: marks those users changed again (with their current values,
  // which may be newer) so the next write retries them.
  void return_changes(const Apps& unwritten);

  std::size_t size() const;

 private:
  // Caller holds mutex_.
  void changed(const std::string& app_id, const std::string& user_id, const Entry& entry);

  const bool track_changes_;
  mutable std::mutex mutex_;
  Apps apps_;
  Apps changes_;
};

}  // namespace greendot::storage
