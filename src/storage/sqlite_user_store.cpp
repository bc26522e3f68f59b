#include "storage/sqlite_user_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

namespace greendot::storage {
namespace {

// Bumped (with a migration in open_schema) whenever the tables change; kCreateSchema writes it.
constexpr std::int64_t kSchemaVersion = 2;

// Enums are stored as fixed numbers, not their C++ order, so that reordering an enum does not
// change what an existing file means.
std::int64_t to_column(Visibility v) {
  return v == Visibility::Nobody ? 1 : 0;
}
std::int64_t to_column(LastSeenPrivacy p) {
  switch (p) {
    case LastSeenPrivacy::Exact:
      return 0;
    case LastSeenPrivacy::Approximate:
      return 1;
    case LastSeenPrivacy::Hidden:
      return 2;
  }
  return 0;
}

std::optional<Visibility> visibility_from(std::int64_t column) {
  if (column == 0) return Visibility::Everyone;
  if (column == 1) return Visibility::Nobody;
  return std::nullopt;
}

std::optional<LastSeenPrivacy> last_seen_privacy_from(std::int64_t column) {
  if (column == 0) return LastSeenPrivacy::Exact;
  if (column == 1) return LastSeenPrivacy::Approximate;
  if (column == 2) return LastSeenPrivacy::Hidden;
  return std::nullopt;
}

// WITHOUT ROWID: the primary key is the only index needed, stored once.
constexpr const char* kCreateSchema = R"sql(
  CREATE TABLE greendot_schema (version INTEGER NOT NULL);
  INSERT INTO greendot_schema (version) VALUES (2);
  CREATE TABLE users (
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    last_seen_ms INTEGER,                -- unix ms when the last session ended; NULL: never
    visibility INTEGER NOT NULL,         -- 0 everyone, 1 nobody
    last_seen_privacy INTEGER NOT NULL,  -- 0 exact, 1 approximate, 2 hidden
    online INTEGER NOT NULL DEFAULT 0,   -- 1: online, no end of session recorded yet
    PRIMARY KEY (app_id, user_id)
  ) WITHOUT ROWID;
  CREATE TABLE greendot_alive (at_ms INTEGER NOT NULL);  -- unix ms of the last write
  INSERT INTO greendot_alive (at_ms) VALUES (0);
)sql";

// Version 1 had no record of who was online, so a crash lost their last seen.
constexpr const char* kMigrateFrom1 = R"sql(
  ALTER TABLE users ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE greendot_alive (at_ms INTEGER NOT NULL);
  INSERT INTO greendot_alive (at_ms) VALUES (0);
  UPDATE greendot_schema SET version = 2;
)sql";

// Users still marked online when the file is opened were online when the previous process
// died without recording their leaving (kill -9, power loss): they were last seen when that
// process was last known alive, at most one write interval before its end.
constexpr const char* kRecoverFromCrash = R"sql(
  UPDATE users
  SET last_seen_ms = max(coalesce(last_seen_ms, 0), (SELECT max(at_ms) FROM greendot_alive)),
      online = 0
  WHERE online = 1
)sql";

constexpr const char* kStillAlive = "UPDATE greendot_alive SET at_ms = ?1";

constexpr const char* kUpsert = R"sql(
  INSERT INTO users (app_id, user_id, last_seen_ms, visibility, last_seen_privacy, online)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6)
  ON CONFLICT (app_id, user_id) DO UPDATE SET
    last_seen_ms = excluded.last_seen_ms,
    visibility = excluded.visibility,
    last_seen_privacy = excluded.last_seen_privacy,
    online = excluded.online
)sql";

std::int64_t system_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SqliteUserStore::SqliteUserStore(std::filesystem::path path,
                                 std::chrono::milliseconds flush_interval,
                                 ErrorHandler on_write_error, WallClock wall_clock)
    : db_(std::move(path)),
      flush_interval_(flush_interval),
      on_write_error_(std::move(on_write_error)),
      wall_clock_(wall_clock ? std::move(wall_clock) : WallClock(system_unix_ms)) {
  open_schema();
  db_.exec(kRecoverFromCrash);
  load();
  upsert_.emplace(db_, kUpsert);
  still_alive_.emplace(db_, kStillAlive);
  writer_ = std::thread([this] { run_writer(); });
}

SqliteUserStore::~SqliteUserStore() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  try {
    flush();
  } catch (const std::exception& e) {
    report(std::string("last-seen data lost at shutdown: ") + e.what());
  }
}

void SqliteUserStore::open_schema() {
  // A reader (sqlite3 on the command line, a backup) may hold the lock for a moment; wait
  // rather than fail the batch.
  sqlite3_busy_timeout(db_.handle(), 5000);

  // Identify the file before changing anything in it (WAL mode is persistent): a file that is
  // not a database fails here, with SQLite's "file is not a database".
  bool has_schema_table = false;
  bool has_other_tables = false;
  try {
    SqliteStatement tables(db_, "SELECT name FROM sqlite_master WHERE type = 'table'");
    while (tables.step()) {
      (tables.text(0) == "greendot_schema" ? has_schema_table : has_other_tables) = true;
    }
  } catch (const std::runtime_error&) {
    db_.fail("cannot read as a greendot database");
  }
  if (!has_schema_table && has_other_tables) {
    throw std::runtime_error(db_.path().string() +
                             ": not a greendot database (it has tables but no greendot_schema)");
  }

  {
    SqliteStatement journal(db_, "PRAGMA journal_mode = WAL");
    if (!journal.step() || journal.text(0) != "wal") {
      throw std::runtime_error(db_.path().string() + ": cannot use WAL journal mode");
    }
  }
  db_.exec("PRAGMA synchronous = NORMAL");

  if (!has_schema_table) {
    db_.exec("BEGIN IMMEDIATE");
    db_.exec(kCreateSchema);
    db_.exec("COMMIT");
    return;
  }
  SqliteStatement version(db_, "SELECT version FROM greendot_schema");
  std::int64_t found = version.step() ? version.int64(0) : 0;
  version.reset();
  if (found == 1) {
    db_.exec("BEGIN IMMEDIATE");
    try {
      db_.exec(kMigrateFrom1);
      db_.exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    found = kSchemaVersion;
  }
  if (found != kSchemaVersion) {
    throw std::runtime_error(db_.path().string() + ": greendot schema version " +
                             std::to_string(found) + ", this greendot reads version " +
                             std::to_string(kSchemaVersion));
  }
}

void SqliteUserStore::load() {
  // Sized first, so that loading millions of users does not rehash on the way.
  SqliteStatement counts(db_, "SELECT app_id, count(*) FROM users GROUP BY app_id");
  while (counts.step()) {
    table_.reserve(counts.text(0), static_cast<std::size_t>(counts.int64(1)));
  }

  SqliteStatement rows(db_,
                       "SELECT app_id, user_id, last_seen_ms, visibility, last_seen_privacy "
                       "FROM users");
  while (rows.step()) {
    const std::string app_id = rows.text(0);
    const std::string user_id = rows.text(1);
    UserRecord record;
    if (!rows.is_null(2)) record.last_seen_ms = rows.int64(2);
    const auto visibility = visibility_from(rows.int64(3));
    const auto last_seen = last_seen_privacy_from(rows.int64(4));
    if (!visibility || !last_seen) {
      throw std::runtime_error(db_.path().string() + ": user " + user_id + " of app " + app_id +
                               " has a privacy setting this greendot does not know");
    }
    record.privacy = {*visibility, *last_seen};
    table_.load(app_id, user_id, record);
  }
}

void SqliteUserStore::record_last_seen(const std::string& app_id, const std::string& user_id,
                                       std::int64_t unix_ms) {
  table_.record_last_seen(app_id, user_id, unix_ms);
}

void SqliteUserStore::set_privacy(const std::string& app_id, const std::string& user_id,
                                  Privacy privacy) {
  table_.set_privacy(app_id, user_id, privacy);
}

void SqliteUserStore::mark_online(const std::string& app_id, const std::string& user_id) {
  table_.mark_online(app_id, user_id);
}

UserRecord SqliteUserStore::get(const std::string& app_id, const std::string& user_id) const {
  return table_.get(app_id, user_id);
}

void SqliteUserStore::flush() {
  std::lock_guard write(write_mutex_);
  const UserTable::Apps batch = table_.take_changes();
  try {
    write_batch(batch);
  } catch (...) {
    table_.return_changes(batch);
    throw;
  }
}

void SqliteUserStore::write_batch(const UserTable::Apps& batch) {
  // One transaction per batch: one WAL append and commit for all its rows, and the moment the
  // process was last known alive (written even when nothing else changed: see kRecoverFromCrash).
  db_.exec("BEGIN IMMEDIATE");
  try {
    still_alive_->bind(1, wall_clock_());
    still_alive_->step();
    still_alive_->reset();
    std::vector<const UserTable::Users::value_type*> sorted;
    for (const auto& [app_id, users] : batch) {
      // In key order the rows reach the table's B-tree left to right instead of at random
      // pages: a batch of a million users (everyone disconnected by a restart) measured 3 s
      // instead of 11 s.
      sorted.clear();
      sorted.reserve(users.size());
      for (const auto& user : users) sorted.push_back(&user);
      std::sort(sorted.begin(), sorted.end(),
                [](const auto* a, const auto* b) { return a->first < b->first; });
      for (const auto* user : sorted) {
        const auto& [user_id, entry] = *user;
        upsert_->bind(1, app_id);
        upsert_->bind(2, user_id);
        if (entry.last_seen_ms == UserTable::Entry::kNeverSeen) {
          upsert_->bind_null(3);
        } else {
          upsert_->bind(3, entry.last_seen_ms);
        }
        upsert_->bind(4, to_column(entry.privacy.visibility));
        upsert_->bind(5, to_column(entry.privacy.last_seen));
        upsert_->bind(6, std::int64_t{entry.online ? 1 : 0});
        upsert_->step();
        upsert_->reset();
      }
    }
    db_.exec("COMMIT");
  } catch (...) {
    // Also after a failed COMMIT, which can leave the transaction open.
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteUserStore::run_writer() {
  std::unique_lock lock(wake_mutex_);
  while (!wake_.wait_for(lock, flush_interval_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      flush();
    } catch (const std::exception& e) {
      report(std::string("writing last seen failed, retrying: ") + e.what());
    }
    lock.lock();
  }
}

void SqliteUserStore::report(const std::string& message) const {
  if (on_write_error_) {
    on_write_error_(message);
  } else {
    std::fprintf(stderr, "greendot: %s\n", message.c_str());
  }
}

}  // namespace greendot::storage
