// Where the Redis engine keeps what in Redis. Every key of one channel shares the hash tag
// {app:channel}, so that one script can change all of them in a Cluster too; the node
// registry has its own tag, and so has each node's list of the channels it has state in.
// Nothing is ever found by KEYS or SCAN: every key is reached from a name the engine knows.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace greendot::engine::redis_engine {

struct ChannelKeys {
  // In the order the channel scripts take them (see redis_scripts.cpp).
  std::array<std::string, 9> keys;
  std::string events;  // the pub/sub channel of its member events and messages
  std::string tag;     // "app:channel", as a node's channel list records it
};

struct UserKeys {
  // In the order the user script takes them (see user_scripts.cpp).
  std::string record;       // hash: last seen, privacy
  std::string memberships;  // hash: channel tag -> "epoch version" (a tombstone ends in " -")
  std::string events;       // pub/sub: "online" / "offline", for the user's watchers
};

class RedisKeys {
 public:
  // `prefix` separates deployments sharing one Redis ("greendot:" by default).
  explicit RedisKeys(std::string prefix) : prefix_(std::move(prefix)) {}

  ChannelKeys channel(std::string_view app_id, std::string_view channel,
                      std::string_view node) const;
  // Only the pub/sub channel, or only the tag: what a message or a leave needs, without
  // building the seven keys.
  std::string events(std::string_view app_id, std::string_view channel) const;
  static std::string tag(std::string_view app_id, std::string_view channel);
  // The same channel's keys for another node's sessions (sweeping it).
  ChannelKeys channel_of_tag(std::string_view tag, std::string_view node) const;
  // HTTP heartbeat sessions belong to no node: each is found by its expiry in one of the
  // app's partitions (a sorted set of "user tab tag" by due time), swept by every node.
  static constexpr unsigned kHeartbeatPartitions = 16;
  // A partition's hash tag, balanced over a Cluster's slots (each in its own sixteenth). Not
  // free to compute: the engine keeps its keys (HeartbeatKeys).
  static std::string heartbeat_tag(std::string_view app_id, unsigned partition);
  std::string heartbeat_due(std::string_view app_id, unsigned partition) const;
  std::string heartbeat_claimed(std::string_view app_id, unsigned partition) const;
  static unsigned heartbeat_partition(std::string_view user);
  std::string live_nodes() const { return prefix_ + "{nodes}:live"; }
  std::string sweeping_nodes() const { return prefix_ + "{nodes}:sweeping"; }
  std::string node_channels(std::string_view node) const;
  std::string app_channels(std::string_view app_id) const;
  // The app's invisible users (a set, small: loaded by every node), and the pub/sub channel
  // on which a change of it is told ("h <user>" / "s <user>").
  std::string app_invisible(std::string_view app_id) const;
  std::string app_privacy(std::string_view app_id) const;
  // Messages for every node (terminating a user's connections).
  std::string control() const { return prefix_ + "{control}:events"; }
  // One user's keys, sharing the tag {app:u:user} (channel names cannot hold ':', so no
  // channel's tag is ever a user's).
  UserKeys user(std::string_view app_id, std::string_view user) const;

 private:
  std::string app_key(std::string_view app_id, std::string_view name) const;
  std::string prefix_;
};

// Channels no client can name ('#' is not allowed in channel names): a user's sign-ins are
// sessions of "#signin:<user>", so that they share the channels' sessions, graces and sweeps.
// Nobody subscribes to their events, they keep no copy, and the application hears nothing.
inline bool internal_channel(std::string_view channel) {
  return channel.starts_with('#');
}

// "app:channel" split at its first ':' (app ids have none); false when it has none.
bool split_tag(std::string_view tag, std::string_view& app_id, std::string_view& channel);

}  // namespace greendot::engine::redis_engine
