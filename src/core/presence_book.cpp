#include "core/presence_book.hpp"

#include <algorithm>

namespace greendot::core {

PresenceBook::Channel* PresenceBook::find_channel(AppIndex app, std::string_view channel) {
  auto it = channels_.find(Key{app, std::string(channel)});
  return it == channels_.end() ? nullptr : &it->second;
}

const PresenceBook::Channel* PresenceBook::find_channel(AppIndex app,
                                                        std::string_view channel) const {
  auto it = channels_.find(Key{app, std::string(channel)});
  return it == channels_.end() ? nullptr : &it->second;
}

PresenceBook::JoinResult PresenceBook::join(AppIndex app, std::string_view channel,
                                            std::string_view user_id, std::string_view user_info,
                                            SessionId session, std::size_t max_members) {
  auto [channel_it, channel_created] = channels_.try_emplace(Key{app, std::string(channel)});
  auto& members = channel_it->second.members;
  auto member_it = members.find(std::string(user_id));
  if (member_it == members.end()) {
    if (members.size() >= max_members) {
      if (channel_created) channels_.erase(channel_it);
      return {JoinStatus::ChannelFull, false};
    }
    Member member;
    member.user_info = std::string(user_info);
    member.sessions.push_back(session);
    members.emplace(std::string(user_id), std::move(member));
    index_user(app, user_id, channel);
    return {JoinStatus::Joined, true};
  }
  Member& member = member_it->second;
  // A return inside the grace cancels the pending removal; the stale deadline is skipped.
  member.in_grace = false;
  if (std::find(member.sessions.begin(), member.sessions.end(), session) == member.sessions.end()) {
    member.sessions.push_back(session);
  }
  return {JoinStatus::Joined, false};
}

std::optional<PresenceEvent> PresenceBook::leave(AppIndex app, std::string_view channel,
                                                 std::string_view user_id, SessionId session,
                                                 Millis now, Millis grace) {
  Channel* c = find_channel(app, channel);
  if (!c) return std::nullopt;
  auto member_it = c->members.find(std::string(user_id));
  if (member_it == c->members.end()) return std::nullopt;
  Member& member = member_it->second;
  auto session_it = std::find(member.sessions.begin(), member.sessions.end(), session);
  if (session_it == member.sessions.end()) return std::nullopt;
  member.sessions.erase(session_it);
  if (!member.sessions.empty()) return std::nullopt;

  member.left_at = now;
  if (grace <= 0) return remove_member(app, channel, *c, member_it);
  member.in_grace = true;
  ++member.generation;
  graces_.schedule(now + grace, GraceKey{app, std::string(channel), std::string(user_id)},
                   member.generation);
  return std::nullopt;
}

PresenceBook::JoinResult PresenceBook::heartbeat(AppIndex app, std::string_view channel,
                                                 std::string_view user_id,
                                                 std::string_view user_info, Millis now, Millis ttl,
                                                 Millis grace, std::size_t max_members) {
  JoinResult result = join(app, channel, user_id, user_info, kHeartbeatSession, max_members);
  if (result.status != JoinStatus::Joined) return result;
  Member& member = find_channel(app, channel)->members.find(std::string(user_id))->second;
  member.heartbeat_expires = now + ttl;
  member.heartbeat_grace = grace;
  if (!member.heartbeat_scheduled) {
    member.heartbeat_scheduled = true;
    expiries_.schedule(now + ttl, GraceKey{app, std::string(channel), std::string(user_id)},
                       ++member.heartbeat_generation);
  }
  return result;
}

std::optional<PresenceEvent> PresenceBook::end_heartbeat(AppIndex app, std::string_view channel,
                                                         std::string_view user_id, Millis now,
                                                         Millis grace) {
  Channel* c = find_channel(app, channel);
  if (!c) return std::nullopt;
  auto member_it = c->members.find(std::string(user_id));
  if (member_it == c->members.end()) return std::nullopt;
  member_it->second.heartbeat_scheduled = false;  // its queued expiry is now stale
  return leave(app, channel, user_id, kHeartbeatSession, now, grace);
}

void PresenceBook::expire_heartbeats(Millis now, std::vector<PresenceEvent>& removed) {
  std::vector<GraceKey> expired;
  expiries_.pop_due(now, [&](const GraceKey& due, std::uint64_t generation) {
    Channel* c = find_channel(due.app, due.channel);
    if (!c) return;
    auto member_it = c->members.find(due.user_id);
    if (member_it == c->members.end()) return;
    Member& member = member_it->second;
    if (!member.heartbeat_scheduled || member.heartbeat_generation != generation) return;
    if (member.heartbeat_expires > now) {
      expiries_.schedule(member.heartbeat_expires, due, generation);
      return;
    }
    member.heartbeat_scheduled = false;
    expired.push_back(due);
  });
  // Outside pop_due: ending a session may schedule a grace.
  for (const auto& due : expired) {
    const Channel* c = find_channel(due.app, due.channel);
    const Millis grace = c->members.find(due.user_id)->second.heartbeat_grace;
    if (auto event = leave(due.app, due.channel, due.user_id, kHeartbeatSession, now, grace)) {
      removed.push_back(std::move(*event));
    }
  }
}

void PresenceBook::advance(Millis now, std::vector<PresenceEvent>& removed) {
  expire_heartbeats(now, removed);
  graces_.pop_due(now, [&](const GraceKey& due, std::uint64_t generation) {
    Channel* c = find_channel(due.app, due.channel);
    if (!c) return;
    auto member_it = c->members.find(due.user_id);
    if (member_it == c->members.end()) return;
    const Member& member = member_it->second;
    if (!member.in_grace || member.generation != generation) return;
    removed.push_back(remove_member(due.app, due.channel, *c, member_it));
  });
}

PresenceEvent PresenceBook::remove_member(
    AppIndex app, std::string_view channel, Channel& c,
    std::unordered_map<std::string, Member>::iterator member) {
  PresenceEvent event{PresenceEvent::Kind::MemberRemoved,
                      app,
                      std::string(channel),
                      member->first,
                      {},
                      member->second.left_at};
  unindex_user(app, member->first, channel);
  c.members.erase(member);
  if (c.members.empty()) channels_.erase(Key{app, std::string(channel)});
  return event;
}

std::size_t PresenceBook::member_count(AppIndex app, std::string_view channel) const {
  const Channel* c = find_channel(app, channel);
  return c ? c->members.size() : 0;
}

bool PresenceBook::is_member(AppIndex app, std::string_view channel,
                             std::string_view user_id) const {
  const Channel* c = find_channel(app, channel);
  return c && c->members.contains(std::string(user_id));
}

void PresenceBook::index_user(AppIndex app, std::string_view user_id, std::string_view channel) {
  user_channels_[Key{app, std::string(user_id)}].emplace_back(channel);
}

void PresenceBook::unindex_user(AppIndex app, std::string_view user_id, std::string_view channel) {
  auto it = user_channels_.find(Key{app, std::string(user_id)});
  if (it == user_channels_.end()) return;
  auto& channels = it->second;
  auto pos = std::find(channels.begin(), channels.end(), channel);
  if (pos != channels.end()) {
    *pos = std::move(channels.back());
    channels.pop_back();
  }
  if (channels.empty()) user_channels_.erase(it);
}

const std::vector<std::string>* PresenceBook::channels_of(AppIndex app,
                                                          std::string_view user_id) const {
  auto it = user_channels_.find(Key{app, std::string(user_id)});
  return it == user_channels_.end() ? nullptr : &it->second;
}

std::optional<Millis> PresenceBook::next_deadline() const {
  return graces_.next();
}

}  // namespace greendot::core
