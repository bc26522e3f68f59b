#include "engine/redis/member_copy.hpp"

#include "protocol/pusher_messages.hpp"

namespace greendot::engine::redis_engine {

namespace {

// The members a joiner is given: all but those in their grace.
protocol::pusher::PresenceSnapshot listed(
    const std::unordered_map<std::string, std::string>& members,
    const std::unordered_map<std::string, std::uint64_t>& in_grace) {
  protocol::pusher::PresenceSnapshot snapshot;
  for (const auto& [user, info] : members) {
    if (!in_grace.contains(user)) snapshot.add(user, info);
  }
  return snapshot;
}

}  // namespace

MemberCopy::Differences MemberCopy::load(std::string epoch, std::uint64_t version,
                                         MemberList members, bool keep_missing,
                                         const std::vector<std::string>& in_grace,
                                         std::uint64_t joins) {
  Differences differences;
  std::unordered_map<std::string, std::string> next;
  next.reserve(members.size());
  for (auto& [user, info] : members) {
    if (loaded_ && !members_.contains(user)) differences.added.emplace_back(user, info);
    next.emplace(std::move(user), std::move(info));
  }
  if (loaded_) {
    for (auto& [user, info] : members_) {
      if (next.contains(user)) continue;
      if (keep_missing) {
        next.emplace(user, std::move(info));
      } else {
        differences.removed.push_back(user);
      }
    }
  }
  members_ = std::move(next);
  std::unordered_map<std::string, std::uint64_t> graces;
  for (const auto& user : in_grace) {
    if (!members_.contains(user)) continue;
    auto kept = in_grace_.find(user);
    graces.emplace(user, kept != in_grace_.end() ? kept->second : joins);
  }
  in_grace_ = std::move(graces);
  epoch_ = std::move(epoch);
  version_ = version;
  loaded_ = true;
  presence_data_current_ = false;
  return differences;
}

MemberCopy::Applied MemberCopy::apply(const ChannelEvent& event, std::uint64_t joins) {
  if (!loaded_) return Applied::Gap;
  if (event.epoch != epoch_) {
    // A channel that began again from nothing: its first event can be taken as it comes.
    if (!(members_.empty() && event.version == 1)) return Applied::Gap;
    epoch_ = event.epoch;
    version_ = 0;
  }
  if (event.version <= version_) return Applied::Unchanged;
  if (event.version != version_ + 1) return Applied::Gap;
  version_ = event.version;
  bool changed = false;
  // The copy is the list others see: a hidden member is not in it.
  switch (event.kind) {
    case ChannelEvent::Kind::MemberAdded:
    case ChannelEvent::Kind::MemberShown:
      changed = members_.emplace(event.user, event.body).second;
      break;
    case ChannelEvent::Kind::MemberRemoved:
    case ChannelEvent::Kind::MemberHidden:
      in_grace_.erase(event.user);
      changed = members_.erase(event.user) == 1;
      break;
    case ChannelEvent::Kind::MemberInGrace:
      changed = members_.contains(event.user) && in_grace_.emplace(event.user, joins).second;
      break;
    case ChannelEvent::Kind::MemberBack:
      // Back for a copy that did not know them (read after the grace began): new to everyone.
      changed = in_grace_.erase(event.user) == 1 || members_.emplace(event.user, event.body).second;
      break;
    case ChannelEvent::Kind::Message:
      break;
  }
  if (changed) presence_data_current_ = false;
  return changed ? Applied::Changed : Applied::Unchanged;
}

std::optional<std::uint64_t> MemberCopy::seen_by(const std::string& user) const {
  auto it = in_grace_.find(user);
  if (it == in_grace_.end()) return std::nullopt;
  return it->second;
}

bool MemberCopy::includes(std::string_view epoch, std::uint64_t version) const {
  return loaded_ && epoch_ == epoch && version_ >= version;
}

const std::string& MemberCopy::presence_data() {
  if (!presence_data_current_) {
    presence_data_ = listed(members_, in_grace_).str();
    presence_data_current_ = true;
  }
  return presence_data_;
}

std::string MemberCopy::presence_data_with(const std::string& user, const std::string& info) const {
  protocol::pusher::PresenceSnapshot snapshot = listed(members_, in_grace_);
  if (!members_.contains(user)) snapshot.add(user, info);
  return snapshot.str();
}

void MemberCopy::clear() {
  members_.clear();
  in_grace_.clear();
  epoch_.clear();
  version_ = 0;
  loaded_ = false;
  presence_data_current_ = false;
}

}  // namespace greendot::engine::redis_engine
