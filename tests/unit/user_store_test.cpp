#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/last_seen_text.hpp"
#include "storage/memory_user_store.hpp"
#include "storage/sqlite_user_store.hpp"

namespace greendot::storage {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// So long that only flush() and the destructor write: tests decide when data reaches the file.
constexpr auto kNever = std::chrono::hours(24);

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "greendot-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ / "users.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Reads the file with a separate connection, as a restarted server or an operator would.
  std::int64_t query_int(const std::string& sql) const {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::int64_t value = -1;
    if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
  }

  void write_file(const std::string& content) const { std::ofstream(path_) << content; }

  void exec_raw(const std::string& sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  std::string open_error() const {
    try {
      SqliteUserStore store(path_, kNever);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  fs::path path_;
};

const Privacy kHiddenNobody{Visibility::Nobody, LastSeenPrivacy::Hidden};

// ---- The in-memory table, through MemoryUserStore ----

TEST(MemoryUserStore, UnknownUsersHaveTheDefaultRecord) {
  MemoryUserStore store;
  const UserRecord record = store.get("app", "nobody-yet");
  EXPECT_FALSE(record.last_seen_ms);
  EXPECT_EQ(record.privacy, Privacy{});
  EXPECT_EQ(store.size(), 0u) << "a read does not create a user";
}

TEST(MemoryUserStore, KeepsLastSeenAndPrivacyPerApp) {
  MemoryUserStore store;
  store.record_last_seen("a", "10", 1000);
  store.set_privacy("b", "10", kHiddenNobody);
  EXPECT_EQ(store.get("a", "10").last_seen_ms, 1000);
  EXPECT_EQ(store.get("a", "10").privacy, Privacy{});
  EXPECT_FALSE(store.get("b", "10").last_seen_ms);
  EXPECT_EQ(store.get("b", "10").privacy, kHiddenNobody);
  store.flush();  // nothing to write, nothing lost
  EXPECT_EQ(store.get("a", "10").last_seen_ms, 1000);
}

TEST(MemoryUserStore, LastSeenNeverMovesBackwards) {
  // Two threads may report the ends of two sessions in either order.
  MemoryUserStore store;
  store.record_last_seen("a", "u", 2000);
  store.record_last_seen("a", "u", 1500);
  EXPECT_EQ(store.get("a", "u").last_seen_ms, 2000);
}

// ---- SqliteUserStore ----

TEST_F(TempDir, CreatesTheFileAndSurvivesReopen) {
  {
    SqliteUserStore store(path_, kNever);
    store.record_last_seen("app", "10", 1'700'000'000'000);
    store.set_privacy("app", "10", {Visibility::Everyone, LastSeenPrivacy::Approximate});
  }  // the destructor writes
  SqliteUserStore reopened(path_, kNever);
  const UserRecord record = reopened.get("app", "10");
  EXPECT_EQ(record.last_seen_ms, 1'700'000'000'000);
  EXPECT_EQ(record.privacy.last_seen, LastSeenPrivacy::Approximate);
  EXPECT_EQ(reopened.size(), 1u);
}

TEST_F(TempDir, FlushWritesAtOnce) {
  SqliteUserStore store(path_, kNever);
  store.record_last_seen("app", "10", 42);
  EXPECT_EQ(query_int("SELECT count(*) FROM users"), 0) << "nothing before a batch";
  store.flush();
  EXPECT_EQ(query_int("SELECT last_seen_ms FROM users WHERE user_id = '10'"), 42);
  store.flush();  // nothing dirty: a no-op
}

TEST_F(TempDir, ManyUpdatesOfOneUserAreOneRowWithTheLatestValue) {
  SqliteUserStore store(path_, kNever);
  for (std::int64_t t = 1; t <= 10'000; ++t) store.record_last_seen("app", "busy", t);
  store.record_last_seen("app", "quiet", 5);
  store.flush();
  EXPECT_EQ(query_int("SELECT count(*) FROM users"), 2);
  EXPECT_EQ(query_int("SELECT last_seen_ms FROM users WHERE user_id = 'busy'"), 10'000);
}

TEST_F(TempDir, EveryPrivacyRoundTrips) {
  std::vector<Privacy> all;
  for (Visibility v : {Visibility::Everyone, Visibility::Nobody}) {
    for (LastSeenPrivacy l :
         {LastSeenPrivacy::Exact, LastSeenPrivacy::Approximate, LastSeenPrivacy::Hidden}) {
      all.push_back({v, l});
    }
  }
  {
    SqliteUserStore store(path_, kNever);
    for (std::size_t i = 0; i < all.size(); ++i)
      store.set_privacy("app", std::to_string(i), all[i]);
  }
  SqliteUserStore reopened(path_, kNever);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const UserRecord record = reopened.get("app", std::to_string(i));
    EXPECT_EQ(record.privacy, all[i]) << i;
    EXPECT_FALSE(record.last_seen_ms) << "privacy alone does not invent a last seen";
  }
}

TEST_F(TempDir, PrivacyChangeKeepsLastSeenAndTheReverse) {
  {
    SqliteUserStore store(path_, kNever);
    store.record_last_seen("app", "u", 100);
    store.flush();
    store.set_privacy("app", "u", kHiddenNobody);
    store.flush();
    store.record_last_seen("app", "u", 200);
  }
  SqliteUserStore reopened(path_, kNever);
  EXPECT_EQ(reopened.get("app", "u").last_seen_ms, 200);
  EXPECT_EQ(reopened.get("app", "u").privacy, kHiddenNobody);
}

TEST_F(TempDir, UnknownUsersAndAppsHaveTheDefaultRecord) {
  {
    SqliteUserStore store(path_, kNever);
    store.record_last_seen("app", "known", 1);
  }
  SqliteUserStore reopened(path_, kNever);
  EXPECT_FALSE(reopened.get("app", "stranger").last_seen_ms);
  EXPECT_EQ(reopened.get("app", "stranger").privacy, Privacy{});
  EXPECT_FALSE(reopened.get("other-app", "known").last_seen_ms);
}

TEST_F(TempDir, SameUserIdInTwoAppsIsTwoUsers) {
  {
    SqliteUserStore store(path_, kNever);
    store.record_last_seen("app-a", "10", 111);
    store.record_last_seen("app-b", "10", 222);
    store.set_privacy("app-b", "10", kHiddenNobody);
  }
  SqliteUserStore reopened(path_, kNever);
  EXPECT_EQ(reopened.get("app-a", "10").last_seen_ms, 111);
  EXPECT_EQ(reopened.get("app-a", "10").privacy, Privacy{});
  EXPECT_EQ(reopened.get("app-b", "10").last_seen_ms, 222);
  EXPECT_EQ(reopened.get("app-b", "10").privacy, kHiddenNobody);
}

TEST_F(TempDir, IdsAreStoredAsGiven) {
  // Ids are bound as text: quotes, long ids and bytes beyond ASCII need no escaping.
  const std::string odd = "o'brien\"; DROP TABLE users; --" + std::string(200, 'x') + "\xC3\xA9";
  {
    SqliteUserStore store(path_, kNever);
    store.record_last_seen("app'1", odd, 7);
  }
  SqliteUserStore reopened(path_, kNever);
  EXPECT_EQ(reopened.get("app'1", odd).last_seen_ms, 7);
}

TEST_F(TempDir, TheBackgroundThreadWritesWithoutFlush) {
  SqliteUserStore store(path_, 10ms);
  store.record_last_seen("app", "u", 99);
  // The one place a real interval must pass: poll the file until the batch appears.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (query_int("SELECT count(*) FROM users") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(query_int("SELECT last_seen_ms FROM users"), 99);
}

TEST_F(TempDir, ConcurrentRecordsFlushesAndReads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  constexpr int kUsers = 50;
  {
    SqliteUserStore store(path_, 1ms);  // the background writer runs all along too
    std::atomic<bool> done{false};
    std::thread flusher([&] {
      while (!done) {
        store.flush();
        (void)store.get("app", "0");
      }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&store, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string user = std::to_string(i % kUsers);
          store.record_last_seen("app", user, std::int64_t{i} * kThreads + t);
          if (i < kUsers) store.set_privacy("app-" + std::to_string(t), user, kHiddenNobody);
        }
      });
    }
    for (auto& writer : writers) writer.join();
    done = true;
    flusher.join();
  }
  SqliteUserStore reopened(path_, kNever);
  for (int u = 0; u < kUsers; ++u) {
    // The largest i with i % kUsers == u, recorded by the last thread.
    const int last_i = kPerThread - kUsers + u;
    EXPECT_EQ(reopened.get("app", std::to_string(u)).last_seen_ms,
              std::int64_t{last_i} * kThreads + (kThreads - 1))
        << u;
  }
  EXPECT_EQ(reopened.get("app-2", "49").privacy, kHiddenNobody);
  EXPECT_EQ(reopened.size(), std::size_t{kUsers} * (1 + kThreads));
}

// Runs `work` in a child process, which must end by killing itself (die()) while its store is
// alive: no destructor, no final flush, like kill -9. No gtest in the child: any failure shows
// as a normal exit instead of the kill.
void die() {
  kill(getpid(), SIGKILL);
}
template <class Work>
void run_then_kill(Work work) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      work();
    } catch (...) {
    }
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child failed: " << status;
}

TEST_F(TempDir, AKilledServerKeepsWhatWasFlushed) {
  run_then_kill([&] {
    SqliteUserStore store(path_, kNever);
    store.record_last_seen("app", "flushed", 1234);
    store.set_privacy("app", "flushed", kHiddenNobody);
    store.flush();
    store.record_last_seen("app", "in-the-last-interval", 5678);
    die();
  });

  SqliteUserStore reopened(path_, kNever);
  EXPECT_EQ(reopened.get("app", "flushed").last_seen_ms, 1234);
  EXPECT_EQ(reopened.get("app", "flushed").privacy, kHiddenNobody);
  EXPECT_FALSE(reopened.get("app", "in-the-last-interval").last_seen_ms)
      << "what was not yet written is the documented loss of a crash";
}

TEST_F(TempDir, AUserOnlineAtACrashWasLastSeenWhenTheProcessWasLastAlive) {
  run_then_kill([&] {
    std::int64_t wall = 1'000'000;
    SqliteUserStore store(path_, kNever, {}, [&] { return wall; });
    store.record_last_seen("app", "online-at-crash", 500'000);  // an earlier session
    store.mark_online("app", "online-at-crash");
    store.mark_online("app", "left-before");
    store.record_last_seen("app", "left-before", 900'000);
    store.flush();
    wall = 1'004'000;
    store.flush();  // nothing changed: still records that the process is alive
    wall = 1'009'000;
    die();
  });

  {
    SqliteUserStore reopened(path_, kNever);
    EXPECT_EQ(reopened.get("app", "online-at-crash").last_seen_ms, 1'004'000)
        << "the last write before the crash, not the end of the earlier session";
    EXPECT_EQ(reopened.get("app", "left-before").last_seen_ms, 900'000);
  }
  EXPECT_EQ(query_int("SELECT count(*) FROM users WHERE online = 1"), 0)
      << "the recovery is written: a second restart keeps the same answer";
  SqliteUserStore again(path_, kNever);
  EXPECT_EQ(again.get("app", "online-at-crash").last_seen_ms, 1'004'000);
}

TEST_F(TempDir, ACleanExitLeavesNobodyOnline) {
  {
    SqliteUserStore store(path_, kNever, {}, [] { return std::int64_t{50}; });
    store.mark_online("app", "u");
    store.flush();
    EXPECT_EQ(query_int("SELECT online FROM users WHERE user_id = 'u'"), 1);
    store.record_last_seen("app", "u", 40);
  }
  EXPECT_EQ(query_int("SELECT online FROM users WHERE user_id = 'u'"), 0);
  EXPECT_EQ(query_int("SELECT last_seen_ms FROM users WHERE user_id = 'u'"), 40)
      << "the recorded end of the session, even though it is before the last alive time";
}

TEST_F(TempDir, AVersionOneFileIsMigratedAndKeepsItsUsers) {
  exec_raw(R"sql(
    CREATE TABLE greendot_schema (version INTEGER NOT NULL);
    INSERT INTO greendot_schema (version) VALUES (1);
    CREATE TABLE users (
      app_id TEXT NOT NULL, user_id TEXT NOT NULL, last_seen_ms INTEGER,
      visibility INTEGER NOT NULL, last_seen_privacy INTEGER NOT NULL,
      PRIMARY KEY (app_id, user_id)) WITHOUT ROWID;
    INSERT INTO users VALUES ('app', 'old', 1234, 1, 2);
  )sql");
  {
    SqliteUserStore store(path_, kNever);
    EXPECT_EQ(store.get("app", "old").last_seen_ms, 1234);
    EXPECT_EQ(store.get("app", "old").privacy, kHiddenNobody);
    store.mark_online("app", "new");
  }
  EXPECT_EQ(query_int("SELECT version FROM greendot_schema"), 2);
  EXPECT_EQ(query_int("SELECT online FROM users WHERE user_id = 'new'"), 1);
}

TEST_F(TempDir, MissingDirectoryIsAClearError) {
  path_ = dir_ / "no-such-dir" / "users.db";
  const std::string error = open_error();
  EXPECT_NE(error.find(path_.string()), std::string::npos) << error;
  EXPECT_NE(error.find("unable to open database file"), std::string::npos) << error;
  EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
}

TEST_F(TempDir, AFileThatIsNotADatabaseIsRefused) {
  write_file("[server]\nport = 6001\nthis is a config file, not a database.................\n");
  const std::string error = open_error();
  EXPECT_NE(error.find(path_.string()), std::string::npos) << error;
  EXPECT_NE(error.find("file is not a database"), std::string::npos) << error;
}

TEST_F(TempDir, SomeoneElsesDatabaseIsRefusedAndLeftAlone) {
  exec_raw("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);");
  const std::string error = open_error();
  EXPECT_NE(error.find(path_.string()), std::string::npos) << error;
  EXPECT_NE(error.find("not a greendot database"), std::string::npos) << error;
  EXPECT_EQ(query_int("SELECT count(*) FROM invoices"), 1);
  EXPECT_FALSE(fs::exists(path_.string() + "-wal")) << "not switched to WAL";
}

TEST_F(TempDir, ANewerSchemaIsRefused) {
  { SqliteUserStore store(path_, kNever); }
  exec_raw("UPDATE greendot_schema SET version = 99");
  const std::string error = open_error();
  EXPECT_NE(error.find("version 99"), std::string::npos) << error;
}

TEST_F(TempDir, AnUnknownPrivacyValueIsRefused) {
  { SqliteUserStore store(path_, kNever); }
  exec_raw(
      "INSERT INTO users (app_id, user_id, last_seen_ms, visibility, last_seen_privacy) "
      "VALUES ('app', 'u', NULL, 7, 0)");
  const std::string error = open_error();
  EXPECT_NE(error.find("privacy setting"), std::string::npos) << error;
}

TEST_F(TempDir, UsesWalMode) {
  { SqliteUserStore store(path_, kNever); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "wal");
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

// ---- Approximate last seen ----

TEST(ApproximateLastSeen, TelegramLikeBuckets) {
  constexpr std::int64_t kDay = 24LL * 60 * 60 * 1000;
  const std::int64_t now = 1'700'000'000'000;
  EXPECT_EQ(approximate_last_seen(now, now), "recently");
  EXPECT_EQ(approximate_last_seen(now + 5000, now), "recently") << "clock skew";
  EXPECT_EQ(approximate_last_seen(now - (3 * kDay - 1), now), "recently");
  EXPECT_EQ(approximate_last_seen(now - 3 * kDay, now), "within a week");
  EXPECT_EQ(approximate_last_seen(now - (7 * kDay - 1), now), "within a week");
  EXPECT_EQ(approximate_last_seen(now - 7 * kDay, now), "within a month");
  EXPECT_EQ(approximate_last_seen(now - (30 * kDay - 1), now), "within a month");
  EXPECT_EQ(approximate_last_seen(now - 30 * kDay, now), "long ago");
  EXPECT_EQ(approximate_last_seen(0, now), "long ago");
  EXPECT_EQ(approximate_last_seen(INT64_MIN, INT64_MAX), "long ago") << "no overflow";
}

}  // namespace
}  // namespace greendot::storage
