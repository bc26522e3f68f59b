#include "core/channel_occupancy.hpp"

namespace greendot::core {

const ChannelOccupancy::Entry* ChannelOccupancy::find(AppIndex app,
                                                      std::string_view channel) const {
  if (app >= apps_.size()) return nullptr;
  auto it = apps_[app].find(std::string(channel));
  return it == apps_[app].end() ? nullptr : &it->second;
}

bool ChannelOccupancy::add(AppIndex app, std::string_view channel) {
  if (app >= apps_.size()) apps_.resize(app + 1);
  auto [it, created] = apps_[app].try_emplace(std::string(channel));
  Entry& entry = it->second;
  ++entry.subscriptions;
  entry.vacating = false;  // a pending vacate, if any, is now stale
  return created;
}

bool ChannelOccupancy::remove(AppIndex app, std::string_view channel, Millis now, Millis grace) {
  if (app >= apps_.size()) return false;
  auto it = apps_[app].find(std::string(channel));
  if (it == apps_[app].end() || it->second.subscriptions == 0) return false;
  Entry& entry = it->second;
  if (--entry.subscriptions > 0) return false;
  if (grace <= 0) {
    apps_[app].erase(it);
    return true;
  }
  entry.vacating = true;
  ++entry.generation;
  graces_.schedule(now + grace, GraceKey{app, std::string(channel)}, entry.generation);
  return false;
}

void ChannelOccupancy::advance(Millis now, std::vector<std::pair<AppIndex, std::string>>& vacated) {
  graces_.pop_due(now, [&](const GraceKey& due, std::uint64_t generation) {
    auto& channels = apps_[due.app];
    auto it = channels.find(due.channel);
    if (it == channels.end() || !it->second.vacating || it->second.generation != generation) {
      return;
    }
    channels.erase(it);
    vacated.emplace_back(due.app, due.channel);
  });
}

std::uint32_t ChannelOccupancy::subscriptions(AppIndex app, std::string_view channel) const {
  const Entry* entry = find(app, channel);
  return entry ? entry->subscriptions : 0;
}

bool ChannelOccupancy::occupied(AppIndex app, std::string_view channel) const {
  return find(app, channel) != nullptr;
}

}  // namespace greendot::core
