#include "storage/user_table.hpp"

#include <algorithm>

namespace greendot::storage {

UserRecord UserTable::Entry::record() const {
  UserRecord record;
  if (last_seen_ms != kNeverSeen) record.last_seen_ms = last_seen_ms;
  record.privacy = privacy;
  return record;
}

UserTable::Entry UserTable::Entry::from(const UserRecord& record) {
  Entry entry;
  entry.last_seen_ms = record.last_seen_ms.value_or(kNeverSeen);
  entry.privacy = record.privacy;
  return entry;
}

void UserTable::record_last_seen(const std::string& app_id, const std::string& user_id,
                                 std::int64_t unix_ms) {
  std::lock_guard lock(mutex_);
  Entry& entry = apps_[app_id][user_id];
  if (unix_ms <= entry.last_seen_ms && !entry.online) return;  // kNeverSeen is below every time
  entry.last_seen_ms = std::max(entry.last_seen_ms, unix_ms);
  entry.online = false;
  changed(app_id, user_id, entry);
}

void UserTable::mark_online(const std::string& app_id, const std::string& user_id) {
  std::lock_guard lock(mutex_);
  Entry& entry = apps_[app_id][user_id];
  if (entry.online) return;
  entry.online = true;
  changed(app_id, user_id, entry);
}

void UserTable::set_privacy(const std::string& app_id, const std::string& user_id,
                            Privacy privacy) {
  std::lock_guard lock(mutex_);
  Entry& entry = apps_[app_id][user_id];
  entry.privacy = privacy;
  // Written even when unchanged: the row then exists, and an app setting the default has a
  // reason to expect it stored.
  changed(app_id, user_id, entry);
}

UserRecord UserTable::get(const std::string& app_id, const std::string& user_id) const {
  std::lock_guard lock(mutex_);
  auto app = apps_.find(app_id);
  if (app == apps_.end()) return {};
  auto user = app->second.find(user_id);
  if (user == app->second.end()) return {};
  return user->second.record();
}

void UserTable::load(const std::string& app_id, const std::string& user_id,
                     const UserRecord& record) {
  std::lock_guard lock(mutex_);
  apps_[app_id][user_id] = Entry::from(record);
}

void UserTable::reserve(const std::string& app_id, std::size_t users) {
  std::lock_guard lock(mutex_);
  apps_[app_id].reserve(users);
}

UserTable::Apps UserTable::take_changes() {
  Apps taken;
  std::lock_guard lock(mutex_);
  taken.swap(changes_);
  return taken;
}

void UserTable::return_changes(const Apps& unwritten) {
  std::lock_guard lock(mutex_);
  for (const auto& [app_id, users] : unwritten) {
    const Users& current = apps_.at(app_id);  // users are never removed
    Users& changes = changes_[app_id];
    for (const auto& [user_id, ignored] : users) {
      changes.try_emplace(user_id, current.at(user_id));
    }
  }
}

std::size_t UserTable::size() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [app_id, users] : apps_) total += users.size();
  return total;
}

void UserTable::changed(const std::string& app_id, const std::string& user_id, const Entry& entry) {
  if (!track_changes_) return;
  changes_[app_id][user_id] = entry;
}

}  // namespace greendot::storage
