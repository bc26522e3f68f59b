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

enum class Visibility { Everyone, Nobody };
enum class LastSeenPrivacy { Exact, Approximate, Hidden };

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
  // From memory (everything is loaded at open; a user never seen returns a default record).
  // Non-blocking.
  virtual UserRecord get(const std::string& app_id, const std::string& user_id) const = 0;
  // Writes everything dirty now (used at shutdown and in tests).
  virtual void flush() = 0;
};

}  // namespace greendot::storage
