#include "storage/memory_user_store.hpp"

namespace greendot::storage {

void MemoryUserStore::record_last_seen(const std::string& app_id, const std::string& user_id,
                                       std::int64_t unix_ms) {
  table_.record_last_seen(app_id, user_id, unix_ms);
}

void MemoryUserStore::set_privacy(const std::string& app_id, const std::string& user_id,
                                  Privacy privacy) {
  table_.set_privacy(app_id, user_id, privacy);
}

UserRecord MemoryUserStore::get(const std::string& app_id, const std::string& user_id) const {
  return table_.get(app_id, user_id);
}

}  // namespace greendot::storage
