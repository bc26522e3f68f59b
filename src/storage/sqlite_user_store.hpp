// SqliteUserStore: last seen and privacy kept in a SQLite file, for the embedded mode.
//
// Reads are served from memory (UserTable, every row loaded at open). Changes mark the user
// dirty; a background thread writes all dirty users in one transaction every flush_interval,
// so a user pinging or reconnecting a thousand times a second costs one row write per interval.
//
// Crashes: a user who comes online is marked so in the file, and every interval the writer
// records the time (the process is alive). A file opened with users still marked online was
// left by a process that died without recording their leaving: their last seen becomes that
// last alive time, at most one interval before the crash.
//
// Durability: WAL with synchronous=NORMAL makes each committed batch survive a crash of the
// process (kill -9, abort): SQLite has handed it to the kernel before COMMIT returns. A crash
// therefore loses at most the changes of the last interval (those not yet committed). A crash
// of the machine itself (power loss) may also lose the batches since the last WAL checkpoint,
// never the file's consistency: that is the price of not calling fsync once per batch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "storage/sqlite_db.hpp"
#include "storage/user_store.hpp"
#include "storage/user_table.hpp"

namespace greendot::storage {

class SqliteUserStore final : public UserStore {
 public:
  // Told about a background write that failed (its users are retried at the next interval) and
  // about a failed final write in the destructor. Default: a line on stderr.
  using ErrorHandler = std::function<void(const std::string& message)>;
  // Unix ms, for the "last known alive" time; the system clock unless a test gives one.
  using WallClock = std::function<std::int64_t()>;

  // Opens the file, creating it (and the schema) when missing, and loads every row. Throws
  // std::runtime_error naming the path and giving SQLite's message when the directory does not
  // exist, the file is not a SQLite database, or it is a database that greendot did not create
  // (or a newer greendot did).
  explicit SqliteUserStore(std::filesystem::path path,
                           std::chrono::milliseconds flush_interval = std::chrono::seconds(1),
                           ErrorHandler on_write_error = {}, WallClock wall_clock = {});
  // Stops the writer and writes what is still dirty.
  ~SqliteUserStore() override;
  SqliteUserStore(const SqliteUserStore&) = delete;
  SqliteUserStore& operator=(const SqliteUserStore&) = delete;

  void record_last_seen(const std::string& app_id, const std::string& user_id,
                        std::int64_t unix_ms) override;
  void set_privacy(const std::string& app_id, const std::string& user_id, Privacy privacy) override;
  void mark_online(const std::string& app_id, const std::string& user_id) override;
  UserRecord get(const std::string& app_id, const std::string& user_id) const override;
  // Writes everything dirty before it returns; throws std::runtime_error when the write fails
  // (the users stay dirty and are retried).
  void flush() override;

  std::size_t size() const { return table_.size(); }

 private:
  void open_schema();
  void load();
  void write_batch(const UserTable::Apps& batch);
  void run_writer();
  void report(const std::string& message) const;

  UserTable table_{/*track_changes=*/true};
  SqliteDb db_;
  std::optional<SqliteStatement> upsert_;       // prepared once the schema exists
  std::optional<SqliteStatement> still_alive_;  // likewise
  const std::chrono::milliseconds flush_interval_;
  const ErrorHandler on_write_error_;
  const WallClock wall_clock_;
  // Held for a whole write (swap + I/O) so that two writers (the thread and flush()) never
  // commit one user's values out of order. table_'s mutex is taken inside it only for the swap;
  // record_last_seen and get never wait for the disk.
  std::mutex write_mutex_;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread writer_;  // last: starts once everything above exists
};

}  // namespace greendot::storage
