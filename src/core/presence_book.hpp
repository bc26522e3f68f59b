// PresenceBook: who is present in which presence channel, counted per user.
//
// A user is a member of a channel while at least one of their sessions is in it. The first
// session makes them a member (member_added); when the last one leaves they stay for the
// app's offline grace and are removed (member_removed) only if no session came back by then.
// A return inside the grace produces no event at all, so reloads and network blips do not
// flicker. Pure bookkeeping: no I/O, no locks, time passed in by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/deadline_queue.hpp"
#include "core/time.hpp"

namespace greendot::core {

using AppIndex = std::uint32_t;
using SessionId = std::uint64_t;

struct PresenceEvent {
  enum class Kind { MemberAdded, MemberRemoved };
  Kind kind;
  AppIndex app;
  std::string channel;
  std::string user_id;
  std::string user_info;  // JSON text; MemberAdded only
};

class PresenceBook {
 public:
  enum class JoinStatus { Joined, ChannelFull };
  struct JoinResult {
    JoinStatus status;
    bool member_added;  // the user was not a member before this session
  };

  // Adds `session` of `user_id`. A user new to a channel that already has `max_members`
  // members is refused. The first user_info a member joined with is kept.
  JoinResult join(AppIndex app, std::string_view channel, std::string_view user_id,
                  std::string_view user_info, SessionId session, std::size_t max_members);

  // Removes `session`. When it was the user's last one, the member is removed at once if
  // `grace` is 0 (the event is returned), otherwise at `now + grace` by advance().
  std::optional<PresenceEvent> leave(AppIndex app, std::string_view channel,
                                     std::string_view user_id, SessionId session, Millis now,
                                     Millis grace);

  // Removes the members whose grace ended at or before `now`, appending their events.
  void advance(Millis now, std::vector<PresenceEvent>& removed);

  // Calls visit(user_id, user_info) for every member of the channel, in no particular order.
  template <class Visit>
  void for_each_member(AppIndex app, std::string_view channel, Visit&& visit) const {
    const Channel* c = find_channel(app, channel);
    if (!c) return;
    for (const auto& [user_id, member] : c->members) visit(user_id, member.user_info);
  }

  std::size_t member_count(AppIndex app, std::string_view channel) const;
  bool is_member(AppIndex app, std::string_view channel, std::string_view user_id) const;
  std::size_t channel_count() const { return channels_.size(); }
  // The earliest pending grace deadline, if any.
  std::optional<Millis> next_deadline() const;

 private:
  struct Member {
    std::string user_info;
    std::vector<SessionId> sessions;  // usually one; a handful with several tabs
    std::uint64_t generation = 0;     // bumped on every grace start, to spot stale deadlines
    bool in_grace = false;
  };
  struct Channel {
    std::unordered_map<std::string, Member> members;
  };
  struct Key {
    AppIndex app;
    std::string name;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::string>{}(k.name) ^ (std::size_t{k.app} * 0x9E3779B97F4A7C15ull);
    }
  };
  // Whose grace ends: entries made stale by a return are skipped when they surface.
  struct GraceKey {
    AppIndex app;
    std::string channel;
    std::string user_id;
  };

  Channel* find_channel(AppIndex app, std::string_view channel);
  const Channel* find_channel(AppIndex app, std::string_view channel) const;
  PresenceEvent remove_member(AppIndex app, std::string_view channel, Channel& c,
                              std::unordered_map<std::string, Member>::iterator member);

  std::unordered_map<Key, Channel, KeyHash> channels_;
  DeadlineQueue<GraceKey> graces_;
};

}  // namespace greendot::core
