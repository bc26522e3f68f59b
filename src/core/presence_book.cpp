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

namespace {

template <class Members>
auto find_member(Members& members, std::string_view user_id) {
  return members.find(std::string(user_id));
}

}  // namespace

PresenceBook::JoinResult PresenceBook::join(AppIndex app, std::string_view channel,
                                            std::string_view user_id, std::string_view user_info,
                                            SessionId session, std::size_t max_members) {
  auto [result, member] = enter(app, channel, user_id, user_info, max_members);
  if (result.status != JoinStatus::Joined) return result;
  result.join_number = ++find_channel(app, channel)->joins;
  auto& sessions = member->second.sessions;
  if (std::find(sessions.begin(), sessions.end(), session) == sessions.end()) {
    sessions.push_back(session);
  }
  return result;
}

std::pair<PresenceBook::JoinResult, PresenceBook::MemberIt> PresenceBook::enter(
    AppIndex app, std::string_view channel, std::string_view user_id, std::string_view user_info,
    std::size_t max_members) {
  auto [channel_it, channel_created] = channels_.try_emplace(Key{app, std::string(channel)});
  Channel& c = channel_it->second;
  auto& members = c.members;
  auto member_it = find_member(members, user_id);
  if (member_it != members.end()) {
    JoinResult result{JoinStatus::Joined, false};
    Member& member = member_it->second;
    if (member.in_grace) {
      // A return inside the grace cancels the pending removal; the stale deadline is skipped.
      member.in_grace = false;
      --c.in_grace;
      list(c, member_it);
      ++c.list_changes;
      result.returned = true;
      result.unseen_after = member.unseen_after;
    }
    return {result, member_it};
  }
  if (members.size() - c.in_grace >= max_members) {
    if (channel_created) channels_.erase(channel_it);
    return {{JoinStatus::ChannelFull, false}, member_it};
  }
  Member member;
  member.user_info = std::string(user_info);
  member_it = members.emplace(std::string(user_id), std::move(member)).first;
  list(c, member_it);
  index_user(app, user_id, channel);
  return {{JoinStatus::Joined, true}, member_it};
}

void PresenceBook::list(Channel& c, MemberIt member) {
  member->second.listed_at = static_cast<std::uint32_t>(c.listed.size());
  c.listed.push_back(&*member);
}

// Order does not matter: the last one takes the place.
void PresenceBook::delist(Channel& c, MemberIt member) {
  const std::uint32_t at = member->second.listed_at;
  auto* last = c.listed.back();
  c.listed[at] = last;
  last->second.listed_at = at;
  c.listed.pop_back();
}

std::optional<PresenceEvent> PresenceBook::leave(AppIndex app, std::string_view channel,
                                                 std::string_view user_id, SessionId session,
                                                 Millis now, Millis grace) {
  Channel* c = find_channel(app, channel);
  if (!c) return std::nullopt;
  auto member_it = find_member(c->members, user_id);
  if (member_it == c->members.end()) return std::nullopt;
  auto& sessions = member_it->second.sessions;
  auto session_it = std::find(sessions.begin(), sessions.end(), session);
  if (session_it == sessions.end()) return std::nullopt;
  sessions.erase(session_it);
  return session_ended(app, channel, *c, member_it, now, grace);
}

std::optional<PresenceEvent> PresenceBook::session_ended(AppIndex app, std::string_view channel,
                                                         Channel& c, MemberIt member_it, Millis now,
                                                         Millis grace) {
  Member& member = member_it->second;
  if (member.present() || member.in_grace) return std::nullopt;
  member.left_at = now;
  if (grace <= 0) return remove_member(app, channel, c, member_it);
  member.in_grace = true;
  delist(c, member_it);
  member.unseen_after = c.joins;
  ++c.in_grace;
  ++c.list_changes;
  member.generation = static_cast<std::uint32_t>(++generations_);
  graces_.schedule(now + grace, GraceKey{app, std::string(channel), std::string(member_it->first)},
                   member.generation);
  return std::nullopt;
}

PresenceBook::JoinResult PresenceBook::heartbeat(AppIndex app, std::string_view channel,
                                                 std::string_view user_id,
                                                 std::string_view user_info, std::string_view tab,
                                                 Millis now, Millis ttl, Millis grace,
                                                 std::size_t max_members) {
  auto [result, member_it] = enter(app, channel, user_id, user_info, max_members);
  if (result.status != JoinStatus::Joined) return result;
  Member& member = member_it->second;
  if (!member.heartbeats) member.heartbeats = std::make_unique<Heartbeats>();
  Heartbeats& heartbeats = *member.heartbeats;
  auto& tabs = heartbeats.tabs;
  auto tab_it =
      std::find_if(tabs.begin(), tabs.end(), [&](const HeartbeatTab& t) { return t.id == tab; });
  if (tab_it == tabs.end()) {
    tabs.push_back(HeartbeatTab{std::string(tab), 0});
    tab_it = std::prev(tabs.end());
  }
  tab_it->expires = now + ttl;
  heartbeats.grace = grace;
  // One queued entry per member, at its earliest expiry: a renewal only moves a tab's own
  // deadline, and an entry that surfaces early is queued again (see expire_heartbeats).
  if (!heartbeats.scheduled || tab_it->expires < heartbeats.expiry_at) {
    schedule_expiry(app, channel, user_id, heartbeats, tab_it->expires);
  }
  return result;
}

void PresenceBook::schedule_expiry(AppIndex app, std::string_view channel, std::string_view user_id,
                                   Heartbeats& heartbeats, Millis at) {
  heartbeats.scheduled = true;
  heartbeats.expiry_at = at;
  expiries_.schedule(at, GraceKey{app, std::string(channel), std::string(user_id)},
                     heartbeats.generation = ++generations_);
}

std::optional<PresenceEvent> PresenceBook::end_heartbeat(AppIndex app, std::string_view channel,
                                                         std::string_view user_id,
                                                         const std::string* tab, Millis now,
                                                         Millis grace) {
  Channel* c = find_channel(app, channel);
  if (!c) return std::nullopt;
  auto member_it = find_member(c->members, user_id);
  if (member_it == c->members.end()) return std::nullopt;
  if (!member_it->second.heartbeats) return std::nullopt;
  auto& tabs = member_it->second.heartbeats->tabs;
  const std::size_t before = tabs.size();
  std::erase_if(tabs, [&](const HeartbeatTab& t) { return !tab || t.id == *tab; });
  if (tabs.size() == before) return std::nullopt;
  // A queued expiry that finds no tab left does nothing.
  return session_ended(app, channel, *c, member_it, now, grace);
}

void PresenceBook::expire_heartbeats(Millis now, std::vector<PresenceEvent>& removed,
                                     std::vector<UserRef>* expired_users) {
  std::vector<GraceKey> expired;
  expiries_.pop_due(now, [&](const GraceKey& due, std::uint64_t generation) {
    Channel* c = find_channel(due.app, due.channel);
    if (!c) return;
    auto member_it = c->members.find(due.user_id);
    if (member_it == c->members.end()) return;
    Member& member = member_it->second;
    if (!member.heartbeats) return;
    Heartbeats& heartbeats = *member.heartbeats;
    if (!heartbeats.scheduled || heartbeats.generation != generation) return;
    heartbeats.scheduled = false;
    auto& tabs = heartbeats.tabs;
    const std::size_t before = tabs.size();
    std::erase_if(tabs, [&](const HeartbeatTab& t) { return t.expires <= now; });
    if (!tabs.empty()) {
      Millis next = tabs.front().expires;
      for (const auto& t : tabs) next = std::min(next, t.expires);
      expiries_.schedule(next, due, generation);
      heartbeats.scheduled = true;
      heartbeats.expiry_at = next;
    }
    if (tabs.size() != before) {
      expired.push_back(due);
      if (expired_users) expired_users->emplace_back(due.app, due.user_id);
    }
    // The grace of a session that just expired is read below; a member without tabs and
    // nothing queued gives the rest back.
    if (tabs.empty() && tabs.size() == before) member.heartbeats.reset();
  });
  // Outside pop_due: ending a session may schedule a grace.
  for (const auto& due : expired) {
    Channel* c = find_channel(due.app, due.channel);
    if (!c) continue;
    auto member_it = c->members.find(due.user_id);
    if (member_it == c->members.end()) continue;
    auto& heartbeats = member_it->second.heartbeats;
    const Millis grace = heartbeats ? heartbeats->grace : 0;
    if (heartbeats && heartbeats->tabs.empty()) heartbeats.reset();
    if (auto event = session_ended(due.app, due.channel, *c, member_it, now, grace)) {
      removed.push_back(std::move(*event));
    }
  }
}

void PresenceBook::advance(Millis now, std::vector<PresenceEvent>& removed,
                           std::vector<UserRef>* expired) {
  expire_heartbeats(now, removed, expired);
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
  if (member->second.in_grace) {
    --c.in_grace;
  } else {
    delist(c, member);
    ++c.list_changes;
  }
  c.members.erase(member);
  if (c.members.empty()) channels_.erase(Key{app, std::string(channel)});
  return event;
}

std::size_t PresenceBook::member_count(AppIndex app, std::string_view channel) const {
  const Channel* c = find_channel(app, channel);
  return c ? c->members.size() : 0;
}

std::uint64_t PresenceBook::list_changes(AppIndex app, std::string_view channel) const {
  const Channel* c = find_channel(app, channel);
  return c ? c->list_changes : 0;
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
