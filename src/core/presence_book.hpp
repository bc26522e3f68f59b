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
  Millis left_at = 0;     // MemberRemoved: when the member's last session ended
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

  // The session of a user's HTTP heartbeats in a channel: one per member, however many tabs
  // ping. Connection sessions are numbered from 1.
  static constexpr SessionId kHeartbeatSession = 0;

  // A heartbeat: adds the member's heartbeat session, or extends it, until `now + ttl`. When
  // it expires it ends like any other session, with `grace`.
  JoinResult heartbeat(AppIndex app, std::string_view channel, std::string_view user_id,
                       std::string_view user_info, Millis now, Millis ttl, Millis grace,
                       std::size_t max_members);

  // Ends the member's heartbeat session at once (the page said goodbye), with `grace`.
  std::optional<PresenceEvent> end_heartbeat(AppIndex app, std::string_view channel,
                                             std::string_view user_id, Millis now, Millis grace);

  // Removes the members whose grace ended, and ends the heartbeat sessions that expired, at
  // or before `now`, appending the resulting removals.
  void advance(Millis now, std::vector<PresenceEvent>& removed);

  // The channels where the user is a member (in grace included), in no particular order.
  const std::vector<std::string>* channels_of(AppIndex app, std::string_view user_id) const;

  // Calls visit(user_id, user_info) for every member of the channel, in no particular order.
  template <class Visit>
  void for_each_member(AppIndex app, std::string_view channel, Visit&& visit) const {
    const Channel* c = find_channel(app, channel);
    if (!c) return;
    for (const auto& [user_id, member] : c->members) visit(user_id, member.user_info);
  }

  // Calls visit(channel) for every channel of the app with members whose name starts with
  // `prefix`. Proportional to all channels: for listings, not hot paths.
  template <class Visit>
  void for_each_channel(AppIndex app, std::string_view prefix, Visit&& visit) const {
    for (const auto& [key, channel] : channels_) {
      if (key.app == app && std::string_view(key.name).starts_with(prefix)) visit(key.name);
    }
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
    Millis left_at = 0;               // when the last session ended (while in grace)
    Millis heartbeat_expires = 0;     // end of the heartbeat session, if it has one
    Millis heartbeat_grace = 0;
    bool in_grace = false;
    bool heartbeat_scheduled = false;        // an expiry entry for this member is queued
    std::uint64_t heartbeat_generation = 0;  // of that entry; older ones are skipped
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
  void expire_heartbeats(Millis now, std::vector<PresenceEvent>& removed);
  void index_user(AppIndex app, std::string_view user_id, std::string_view channel);
  void unindex_user(AppIndex app, std::string_view user_id, std::string_view channel);

  DeadlineQueue<GraceKey> graces_;
  // One entry per member with a heartbeat session; a ping only moves the member's own
  // deadline, and an entry that surfaces early is queued again at that deadline.
  DeadlineQueue<GraceKey> expiries_;
  std::unordered_map<Key, std::vector<std::string>, KeyHash> user_channels_;
};

}  // namespace greendot::core
