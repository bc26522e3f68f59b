#include "storage/sqlite_db.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <system_error>
#include <utility>

namespace greendot::storage {

SqliteDb::SqliteDb(std::filesystem::path path) : path_(std::move(path)) {
  // NOMUTEX: the owner already serializes every use, SQLite's own mutex would be a second one.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) == SQLITE_OK) return;
  std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
  sqlite3_close(db_);
  db_ = nullptr;
  // SQLite says only "unable to open database file"; say why when it is the usual reason.
  std::error_code error;
  const std::filesystem::path directory =
      path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(directory, error)) {
    message += " (directory " + directory.string() + " does not exist)";
  }
  throw std::runtime_error(path_.string() + ": cannot open: " + message);
}

SqliteDb::~SqliteDb() {
  // The last connection to close checkpoints the WAL into the main file.
  sqlite3_close(db_);
}

void SqliteDb::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
}

std::runtime_error SqliteDb::error(std::string_view what) const {
  return std::runtime_error(path_.string() + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

SqliteStatement::SqliteStatement(SqliteDb& db, const char* sql) : db_(&db), statement_(nullptr) {
  if (sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &statement_, nullptr) !=
      SQLITE_OK) {
    db.fail(sql);
  }
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(statement_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)) {}

void SqliteStatement::bind(int index, std::string_view text) {
  // SQLITE_STATIC: the text outlives the step that reads it (the caller binds, steps, resets).
  if (sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_STATIC) != SQLITE_OK) {
    db_->fail("bind");
  }
}

void SqliteStatement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK) db_->fail("bind");
}

void SqliteStatement::bind_null(int index) {
  if (sqlite3_bind_null(statement_, index) != SQLITE_OK) db_->fail("bind");
}

bool SqliteStatement::step() {
  const int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  // The message first: resetting keeps it, but the statement must be rearmed for its next use.
  std::runtime_error error = db_->error(sqlite3_sql(statement_));
  sqlite3_reset(statement_);
  throw error;
}

void SqliteStatement::reset() {
  // A failed step already threw its error; here reset only rearms.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

bool SqliteStatement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::int64_t SqliteStatement::int64(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string SqliteStatement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  return data
             ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
             : std::string();
}

}  // namespace greendot::storage
