// MemoryUserStore: last seen and privacy in memory only, lost at exit. For tests and for
// running without a data directory.
#pragma once

#include <cstddef>

#include "storage/user_store.hpp"
#include "storage/user_table.hpp"

namespace greendot::storage {

class MemoryUserStore final : public UserStore {
 public:
  MemoryUserStore() : table_(/*track_changes=*/false) {}

  void record_last_seen(const std::string& app_id, const std::string& user_id,
                        std::int64_t unix_ms) override;
  void set_privacy(const std::string& app_id, const std::string& user_id, Privacy privacy) override;
  // Nothing here outlives a crash, so there is nothing to recover from one.
  void mark_online(const std::string&, const std::string&) override {}
  UserRecord get(const std::string& app_id, const std::string& user_id) const override;
  void flush() override {}  // nothing to write

  std::size_t size() const { return table_.size(); }

 private:
  UserTable table_;
};

}  // namespace greendot::storage
