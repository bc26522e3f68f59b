// PresenceEngine: where presence state lives. The rest of the server talks only to this
// interface, so that the embedded engine (one node, memory) and a shared engine (many nodes,
// Redis) are interchangeable.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/presence_book.hpp"
#include "protocol/socket_id.hpp"
#include "storage/user_store.hpp"

namespace greendot::engine {

struct JoinRequest {
  core::AppIndex app = 0;
  std::string channel;
  std::string user_id;
  std::string user_info;  // JSON text
  core::SessionId session = 0;
  protocol::SocketId socket;  // excluded from this join's member_added
  std::size_t max_members = 0;
};

// Why a join was not made. A full channel is the application's limit and final; an engine
// that cannot serve now (stopping, or a shared store out of reach) is worth retrying.
enum class JoinStatus { Joined, ChannelFull, Unavailable };

struct JoinOutcome {
  JoinStatus status = JoinStatus::Unavailable;
  bool accepted() const { return status == JoinStatus::Joined; }
  // {"presence":{"ids":[...],"hash":{...},"count":n}} including the joiner, when accepted:
  // given once the channel's messages from every node reach this node, so none that follows
  // the list is missed.
  // Members in the grace after their last session are not in it (see
  // PresenceBook::for_each_listed_member); if one comes back, the subscribers whose
  // join_number is above the one in the message are told (ChannelMessage::joined_after).
  std::string presence_data;
  std::uint64_t join_number = 0;
};

// Called exactly once, on an engine thread, ordered with the channel's member events: a
// transport must only post it to its own thread, never block in it or call the engine.
using JoinCallback = std::function<void(JoinOutcome)>;

struct ChannelStats {
  bool occupied = false;
  std::uint32_t subscription_count = 0;  // connections subscribed, on every node
  std::uint32_t user_count = 0;          // presence channels: members (unique users)
};

struct ChannelListing {
  std::string name;
  ChannelStats stats;
};

// HTTP heartbeats of one user into several presence channels (contexts).
enum class UserStatus { Online, Away };

struct HeartbeatRequest {
  core::AppIndex app = 0;
  std::optional<UserStatus> status;  // as the page reports it, if it does; else unchanged
  std::string tab;                   // the page's tab id; "" for pings that name none
  std::vector<std::string> channels;
  std::string user_id;
  std::string user_info;  // JSON text
  core::Millis ttl_ms = 0;
  core::Millis grace_ms = 0;
  std::size_t max_members = 0;
};

// What greendot knows of a user right now: the truth, before any privacy is applied.
struct UserPresence {
  bool online = false;
  UserStatus status = UserStatus::Online;             // while online
  std::optional<std::int64_t> last_seen_ms;           // unix ms; "now" while online
  std::optional<std::int64_t> recorded_last_seen_ms;  // when the last time online ended
  storage::Privacy privacy;
};

// The end of heartbeat sessions: one tab's (`tab` set) or all of the user's, in `channel` or
// in every channel when it is empty.
struct HeartbeatOffline {
  core::AppIndex app = 0;
  std::string user_id;
  std::string channel;
  std::optional<std::string> tab;
  core::Millis grace_ms = 0;
  core::Millis ttl_ms = 0;  // how long a late ping from an ended tab is recognised
};

// What a heartbeat did in one channel.
enum class HeartbeatAnswer {
  Present,     // the tab's session is on until the TTL
  Full,        // the channel has max_members members and the user is not one
  TabEnded,    // the tab said offline before: a late ping, ignored
  Unavailable  // the engine cannot serve now (stopping, a shared store out of reach): retry
};

// Answers to queries; called like JoinCallback (engine thread, post to your own). A query
// answered with nothing (std::nullopt) could not be served now (a shared store out of reach,
// or its deadline passed): worth retrying, and never to be taken for an empty answer.
template <class T>
using Answer = std::optional<T>;
using HeartbeatCallback = std::function<void(std::vector<HeartbeatAnswer>)>;
using UserPresenceCallback = std::function<void(Answer<std::vector<UserPresence>>)>;
using OnlineCallback = std::function<void(std::vector<std::string>)>;

struct PrivacyChange {
  std::optional<storage::Visibility> visibility;
  std::optional<storage::LastSeenPrivacy> last_seen;
};

// Where a watcher's watchlist events are published: a channel no client can name (':' is not
// allowed in channel names), subscribed to by the watcher's own connections.
inline std::string watchlist_channel(std::string_view watcher) {
  return "#watchlist:" + std::string(watcher);
}
using StatsCallback = std::function<void(Answer<std::vector<ChannelStats>>)>;
using ListingCallback = std::function<void(Answer<std::vector<ChannelListing>>)>;
using UsersCallback = std::function<void(Answer<std::vector<std::string>>)>;

// What a shared engine could not do at once, or did to make good, counted since start (for
// /metrics; all 0 for the embedded engine). Each is also logged when it happens.
struct EngineCounters {
  std::uint64_t store_disconnections = 0;  // times the store (Redis) went out of reach
  std::uint64_t messages_not_shared = 0;   // published meanwhile: this node's subscribers only
  std::uint64_t leases_lost = 0;           // this node found its lease gone and re-asserted anew
  std::uint64_t nodes_swept = 0;           // dead nodes whose sessions this node removed
  std::uint64_t subscriptions_unconfirmed = 0;  // answered without the store confirming in time
};

class PresenceEngine {
 public:
  virtual ~PresenceEngine() = default;

  // Adds a session of a user to a presence channel (it counts as a subscription too); tells
  // the other subscribers (member_added) when it is the user's first.
  virtual void join(JoinRequest request, JoinCallback done) = 0;

  // Ends a session; the user is removed (member_removed) when it was their last and no
  // session comes back within `grace_ms`.
  virtual void leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
                     core::SessionId session, core::Millis grace_ms) = 0;

  // A subscription (by the connection `session`) to a channel that is not a presence channel
  // began or ended. The channel is vacated when the last one ends and none comes back within
  // `grace_ms`. `in_place` (may be empty) is called once the channel's messages from every
  // node reach this one, so the client can be told it is subscribed. It is called like a
  // JoinCallback (engine thread, ordered with the channel's events), or during the call by an
  // engine that has nothing to wait for.
  virtual void subscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                          std::function<void()> in_place) = 0;
  virtual void unsubscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                            core::Millis grace_ms) = 0;

  // The same numbers the WebSocket side sees, at the same instant; one entry per channel.
  virtual void channel_stats(core::AppIndex app, std::vector<std::string> channels,
                             StatsCallback done) = 0;
  // Occupied channels whose names start with `prefix`.
  virtual void list_channels(core::AppIndex app, std::string prefix, ListingCallback done) = 0;
  // The user ids of a presence channel's members.
  virtual void channel_users(core::AppIndex app, std::string channel, UsersCallback done) = 0;

  // Adds or refreshes the heartbeat session of the request's tab in each channel, until ttl_ms
  // from now, and sets the tab's status when the request has one.
  virtual void heartbeat(HeartbeatRequest request, HeartbeatCallback done) = 0;
  // Ends heartbeat sessions at once; the user leaves after the last session and the grace.
  // `done` is called once it is applied (a ping or a read after it sees it), on an engine
  // thread like every answer.
  virtual void heartbeat_offline(HeartbeatOffline offline, std::function<void()> done) = 0;

  // Users' online state, last seen and privacy, in the order asked.
  virtual void users_presence(core::AppIndex app, std::vector<std::string> user_ids,
                              UserPresenceCallback done) = 0;
  // Changing visibility while present tells the others: invisible users leave every member
  // list but their own, visible ones come back.
  // Fields left empty keep their value; `done` gets the privacy now in force, or nothing when
  // it could not be changed now.
  virtual void update_privacy(core::AppIndex app, std::string user_id, PrivacyChange change,
                              std::function<void(Answer<storage::Privacy>)> done) = 0;
  // A connection signed in (pusher:signin) as the user, or ended. A signed-in user is online
  // even in no presence channel, as Pusher's watchlists define it.
  // The connection is the session; after the last one ends the user stays signed in for
  // `grace_ms`, like a member of a presence channel.
  virtual void signed_in(core::AppIndex app, std::string user_id, core::SessionId session) = 0;
  virtual void signed_out(core::AppIndex app, std::string user_id, core::SessionId session,
                          core::Millis grace_ms) = 0;
  // Watchlists: the watcher is told (on watchlist_channel) when any of these users comes
  // online or goes offline; `done` gets those online now. unwatch undoes one watch.
  virtual void watch(core::AppIndex app, std::string watcher, std::vector<std::string> watched,
                     OnlineCallback done) = 0;
  virtual void unwatch(core::AppIndex app, std::string watcher,
                       std::vector<std::string> watched) = 0;

  // Online or away, for one connection of an online user. Status belongs to each session (a
  // connection, a heartbeat tab): the user is online while any session is, away when all are.
  // When that changes the other members receive greendot:member_updated.
  virtual void set_status(core::AppIndex app, std::string user_id, core::SessionId session,
                          UserStatus status) = 0;

  // Whether it can serve now: a shared engine is not while its store is out of reach.
  virtual bool ready() const { return true; }
  // Thread-safe.
  virtual EngineCounters counters() const { return {}; }

  // Housekeeping (ends of grace, heartbeat expiries); the server calls it about every 100 ms.
  virtual void tick(core::Millis now) = 0;

  // The server is stopping: everyone present now was last seen now, and the application gets
  // the member_removed and channel_vacated webhooks it would otherwise never get. Clients are
  // not told (their connections are closing). Nothing is accepted afterwards.
  virtual void shut_down() = 0;
};

}  // namespace greendot::engine
