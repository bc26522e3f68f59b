// PresenceBook: who is present in which presence channel, counted per user.
//
// A user is a member of a channel while at least one of their sessions is in it. The first
// session makes them a member (member_added); when the last one leaves they stay for the
// app's offline grace and are removed (member_removed) only if no session came back by then.
// A return inside the grace produces no event at all, so reloads and network blips do not
// flicker. Pure bookkeeping: no I/O, no locks, time passed in by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/app_key.hpp"
#include "core/deadline_queue.hpp"
#include "core/time.hpp"

namespace greendot::core {

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
    // The user was a member in the grace after their last session, and is back. Joiners since
    // the grace began were not given them (see for_each_listed_member): those with a join
    // number above `unseen_after` must be told they are here.
    bool returned = false;
    std::uint64_t unseen_after = 0;
    // join() only: this join's number in the channel, counting from 1.
    std::uint64_t join_number = 0;
  };

  // Adds `session` of `user_id`. A user new to a channel that already has `max_members`
  // members (not counting those in their grace) is refused; a member in grace coming back is
  // never refused. The first user_info a member joined with is kept.
  JoinResult join(AppIndex app, std::string_view channel, std::string_view user_id,
                  std::string_view user_info, SessionId session, std::size_t max_members);

  // Removes `session`. When it was the user's last one, the member is removed at once if
  // `grace` is 0 (the event is returned), otherwise at `now + grace` by advance().
  std::optional<PresenceEvent> leave(AppIndex app, std::string_view channel,
                                     std::string_view user_id, SessionId session, Millis now,
                                     Millis grace);

  // HTTP heartbeats are sessions too, one per tab: a page names its tab in each ping, and pings
  // that name none share the member's tab "". A tab's session lasts until `now + ttl` of its
  // last ping, or until its offline; when the member's last session (of any kind) ends, the
  // member leaves with `grace` like on a connection's leave.
  JoinResult heartbeat(AppIndex app, std::string_view channel, std::string_view user_id,
                       std::string_view user_info, std::string_view tab, Millis now, Millis ttl,
                       Millis grace, std::size_t max_members);

  // Ends one tab's heartbeat session at once (the page said goodbye), or all of the member's
  // heartbeat sessions when `tab` is null, with `grace`.
  std::optional<PresenceEvent> end_heartbeat(AppIndex app, std::string_view channel,
                                             std::string_view user_id, const std::string* tab,
                                             Millis now, Millis grace);

  // Removes the members whose grace ended, and ends the heartbeat sessions that expired, at
  // or before `now`, appending the resulting removals, and (when asked) the users who lost a
  // heartbeat session to its expiry.
  using UserRef = std::pair<AppIndex, std::string>;
  void advance(Millis now, std::vector<PresenceEvent>& removed,
               std::vector<UserRef>* expired = nullptr);

  // The channels where the user is a member (in grace included), in no particular order.
  const std::vector<std::string>* channels_of(AppIndex app, std::string_view user_id) const;

  // Calls connection(session) and tab(tab_id) for every live session of the user in the channel.
  template <class Connection, class Tab>
  void for_each_session(AppIndex app, std::string_view channel, std::string_view user_id,
                        Connection&& connection, Tab&& tab) const {
    const Channel* c = find_channel(app, channel);
    if (!c) return;
    auto it = c->members.find(std::string(user_id));
    if (it == c->members.end()) return;
    for (SessionId s : it->second.sessions) connection(s);
    if (const auto& heartbeats = it->second.heartbeats) {
      for (const auto& t : heartbeats->tabs) tab(t.id);
    }
  }

  // Calls visit(user_id, user_info) for every member of the channel, in no particular order.
  template <class Visit>
  void for_each_member(AppIndex app, std::string_view channel, Visit&& visit) const {
    const Channel* c = find_channel(app, channel);
    if (!c) return;
    for (const auto& [user_id, member] : c->members) visit(user_id, member.user_info);
  }

  // Calls visit(user_id, user_info) for every member a joiner is given: those with a live
  // session. A member in the grace after their last session is kept for those who saw them
  // (no leave and come back for a reload), but not shown anew: a channel where sessions come
  // and go holds seconds' worth of departed members, and every joiner would pay for them.
  template <class Visit>
  void for_each_listed_member(AppIndex app, std::string_view channel, Visit&& visit) const {
    const Channel* c = find_channel(app, channel);
    if (!c) return;
    for (const auto& listed : c->listed) visit(listed->first, listed->second.user_info);
  }
  // Counts the changes to the listed set other than a new member's arrival (the start of a
  // grace, a removal without one, a return from the grace): a list built at one count and
  // appended to with each new member is still right while the count has not moved.
  std::uint64_t list_changes(AppIndex app, std::string_view channel) const;

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
  struct HeartbeatTab {
    std::string id;
    Millis expires = 0;
  };
  // A member's heartbeat sessions, apart: most members of a channel are connections only.
  // Kept until the member's queued expiry entry has surfaced with no tab left.
  struct Heartbeats {
    std::vector<HeartbeatTab> tabs;  // usually one
    Millis grace = 0;                // of the last ping, for the sessions that expire
    Millis expiry_at = 0;            // when the queued expiry entry surfaces
    std::uint64_t generation = 0;    // of that entry; older ones are skipped
    bool scheduled = false;          // an expiry entry for this member is queued
  };
  // One per member of a channel (and an idle node holds one per connection): its fields in an
  // order that leaves no padding.
  struct Member {
    std::string user_info;
    std::vector<SessionId> sessions;  // connections; usually one, a handful with several tabs
    std::unique_ptr<Heartbeats> heartbeats;
    Millis left_at = 0;              // when the last session ended (while in grace)
    std::uint64_t unseen_after = 0;  // the channel's join count when the grace began
    std::uint32_t generation = 0;    // of its grace entry (see generations_): stale ones skip
    std::uint32_t listed_at = 0;     // this member's place in Channel::listed, unless in grace
    bool in_grace = false;
    bool present() const { return !sessions.empty() || (heartbeats && !heartbeats->tabs.empty()); }
  };
  struct Channel {
    std::unordered_map<std::string, Member> members;
    // The members not in grace, so that a joiner's list costs the members it holds, not the
    // departed ones too (elements of an unordered_map stay where they are).
    std::vector<std::pair<const std::string, Member>*> listed;
    std::size_t in_grace = 0;        // members in grace, not counted against max_members
    std::uint64_t joins = 0;         // numbers the joins
    std::uint64_t list_changes = 0;  // see list_changes()
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
  using MemberIt = std::unordered_map<std::string, Member>::iterator;
  // After a member's session ended: starts the grace, or removes the member when `grace` is 0
  // (the event is returned). Nothing when sessions remain.
  // Finds the member, or adds it (without sessions) when the channel has room.
  std::pair<JoinResult, MemberIt> enter(AppIndex app, std::string_view channel,
                                        std::string_view user_id, std::string_view user_info,
                                        std::size_t max_members);
  static void list(Channel& c, MemberIt member);
  static void delist(Channel& c, MemberIt member);
  std::optional<PresenceEvent> session_ended(AppIndex app, std::string_view channel, Channel& c,
                                             MemberIt member, Millis now, Millis grace);
  void schedule_expiry(AppIndex app, std::string_view channel, std::string_view user_id,
                       Heartbeats& heartbeats, Millis at);
  PresenceEvent remove_member(AppIndex app, std::string_view channel, Channel& c,
                              std::unordered_map<std::string, Member>::iterator member);

  std::unordered_map<Key, Channel, KeyHash> channels_;
  void expire_heartbeats(Millis now, std::vector<PresenceEvent>& removed,
                         std::vector<UserRef>* expired_users);
  void index_user(AppIndex app, std::string_view user_id, std::string_view channel);
  void unindex_user(AppIndex app, std::string_view user_id, std::string_view channel);

  // Numbers every queued grace and expiry entry, over the whole book: a member removed and
  // made again (or its heartbeat block) must not match an entry of its earlier life.
  std::uint64_t generations_ = 0;
  DeadlineQueue<GraceKey> graces_;
  // One entry per member with a heartbeat session; a ping only moves the member's own
  // deadline, and an entry that surfaces early is queued again at that deadline.
  DeadlineQueue<GraceKey> expiries_;
  std::unordered_map<Key, std::vector<std::string>, KeyHash> user_channels_;
};

}  // namespace greendot::core
