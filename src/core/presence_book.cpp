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

  if (grace <= 0) return remove_member(app, channel, *c, member_it);
  member.in_grace = true;
  ++member.generation;
  graces_.schedule(now + grace, GraceKey{app, std::string(channel), std::string(user_id)},
                   member.generation);
  return std::nullopt;
}

void PresenceBook::advance(Millis now, std::vector<PresenceEvent>& removed) {
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
  PresenceEvent event{
      PresenceEvent::Kind::MemberRemoved, app, std::string(channel), member->first, {}};
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

std::optional<Millis> PresenceBook::next_deadline() const {
  return graces_.next();
}

}  // namespace greendot::core
