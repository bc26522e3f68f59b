// UserStore: what greendot remembers about a user between sessions and across restarts: when
// they were last seen and what they allow others to see. The embedded mode keeps it in SQLite
// (SqliteUserStore); a Redis engine will keep it in Redis behind the same interface.
//
// Apps are named by their string app id, not by their index in the running configuration,
// because the index changes when apps are added or reordered and the data outlives the process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace greendot::storage {

// One byte each: they sit in every user's in-memory entry (see UserTable).
enum class Visibility : std::uint8_t { Everyone, Nobody };
enum class LastSeenPrivacy : std::uint8_t { Exact, Approximate, Hidden };

struct Privacy {
  Visibility visibility = Visibility::Everyone;
  LastSeenPrivacy last_seen = LastSeenPrivacy::Exact;
  bool operator==(const Privacy&) const = default;
};

struct UserRecord {
  std::optional<std::int64_t> last_seen_ms;  // unix ms when the last session ended; none: never
  Privacy privacy;
};

class UserStore {
 public:
  virtual ~UserStore() = default;
  // Both are cheap and non-blocking (called under the presence engine's lock): they update an
  // in-memory map and mark the user dirty for the next batch write.
  virtual void record_last_seen(const std::string& app_id, const std::string& user_id,
                                std::int64_t unix_ms) = 0;
  virtual void set_privacy(const std::string& app_id, const std::string& user_id,
                           Privacy privacy) = 0;
  // The user came online (visibly). A store that survives the process remembers it, so that
  // after a crash (kill -9, power loss: no chance to record anything) a user who was online
  // then gets as last seen the last moment the store knew the process alive, seconds before
  // the crash, instead of the end of an earlier session. record_last_seen ends it.
  virtual void mark_online(const std::string& app_id, const std::string& user_id) = 0;
  // From memory (everything is loaded at open; a user never seen returns a default record).
  // Non-blocking.
  virtual UserRecord get(const std::string& app_id, const std::string& user_id) const = 0;
  // Writes everything dirty now (used at shutdown and in tests).
  virtual void flush() = 0;
};

}  // namespace greendot::storage
