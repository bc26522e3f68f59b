// SqliteDb: one SQLite connection and its prepared statements, every failure thrown as
// std::runtime_error naming the file and giving SQLite's own message. Not thread-safe: the
// owner serializes its use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace greendot::storage {

class SqliteDb;

class SqliteStatement {
 public:
  SqliteStatement(SqliteDb& db, const char* sql);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;

  // Parameters count from 1, as in SQLite.
  void bind(int index, std::string_view text);
  void bind(int index, std::int64_t value);
  void bind_null(int index);
  // Runs to the next row: true when there is one, false when done.
  bool step();
  // Ready to bind and run again.
  void reset();

  // Columns count from 0, as in SQLite.
  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;

 private:
  SqliteDb* db_;
  sqlite3_stmt* statement_;
};

class SqliteDb {
 public:
  // Opens the file read-write, creating it when missing.
  explicit SqliteDb(std::filesystem::path path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return nothing of interest.
  void exec(const char* sql);
  SqliteStatement prepare(const char* sql) { return SqliteStatement(*this, sql); }

  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() { return db_; }
  // "<path>: <what>: <SQLite's last message>", returned or thrown.
  std::runtime_error error(std::string_view what) const;
  [[noreturn]] void fail(std::string_view what) const { throw error(what); }

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace greendot::storage
