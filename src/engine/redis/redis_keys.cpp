#include "engine/redis/redis_keys.hpp"

#include "redis/cluster_slot.hpp"

namespace greendot::engine::redis_engine {

std::string RedisKeys::tag(std::string_view app_id, std::string_view channel) {
  std::string tag(app_id);
  tag.push_back(':');
  tag.append(channel);
  return tag;
}

ChannelKeys RedisKeys::channel(std::string_view app_id, std::string_view channel,
                               std::string_view node) const {
  return channel_of_tag(tag(app_id, channel), node);
}

std::string RedisKeys::events(std::string_view app_id, std::string_view channel) const {
  std::string key = prefix_;
  key.push_back('{');
  key.append(app_id).append(":").append(channel).append("}:events");
  return key;
}

ChannelKeys RedisKeys::channel_of_tag(std::string_view tag, std::string_view node) const {
  std::string base = prefix_;
  base.push_back('{');
  base.append(tag);
  base.append("}:");
  const auto key = [&](std::string_view suffix) {
    std::string k = base;
    k.append(suffix);
    return k;
  };
  std::string node_key = key("node:");
  node_key.append(node);
  return ChannelKeys{{key("members"), key("live"), key("grace"), key("version"), key("subs"),
                      std::move(node_key), key("vacate"), key("tabs"), key("hidden")},
                     key("events"),
                     std::string(tag)};
}

std::string RedisKeys::node_channels(std::string_view node) const {
  std::string key = prefix_;
  key.append("{node:").append(node).append("}:channels");
  return key;
}

// The app's own keys share the tag {app:<id>}.
std::string RedisKeys::app_key(std::string_view app_id, std::string_view name) const {
  std::string key = prefix_;
  key.append("{app:").append(app_id).append("}:").append(name);
  return key;
}

std::string RedisKeys::app_channels(std::string_view app_id) const {
  return app_key(app_id, "channels");
}

std::string RedisKeys::app_invisible(std::string_view app_id) const {
  return app_key(app_id, "invisible");
}

std::string RedisKeys::app_privacy(std::string_view app_id) const {
  return app_key(app_id, "privacy");
}

// Tags "hb:<app>:<p>" alone fall where CRC16 puts them: 16 of them over three primaries may
// be 8, 4 and 4. Partition p's tag gets the first suffix that puts it in the p-th sixteenth of
// the slots instead, so that primaries owning equal ranges of slots get equal shares.
std::string RedisKeys::heartbeat_tag(std::string_view app_id, unsigned partition) {
  std::string base = "hb:";
  base.append(app_id).append(":").append(std::to_string(partition));
  const unsigned first = partition * redis::kClusterSlots / kHeartbeatPartitions;
  const unsigned end = (partition + 1) * redis::kClusterSlots / kHeartbeatPartitions;
  for (unsigned suffix = 0; suffix < 100'000; ++suffix) {
    std::string tag = base;
    if (suffix > 0) tag.append(".").append(std::to_string(suffix));
    const unsigned slot = redis::key_slot("{" + tag + "}");
    if (slot >= first && slot < end) return tag;
  }
  return base;  // not reached: about one suffix in 16 fits
}

std::string RedisKeys::heartbeat_due(std::string_view app_id, unsigned partition) const {
  std::string key = prefix_;
  key.append("{").append(heartbeat_tag(app_id, partition)).append("}:due");
  return key;
}

std::string RedisKeys::heartbeat_claimed(std::string_view app_id, unsigned partition) const {
  std::string key = prefix_;
  key.append("{").append(heartbeat_tag(app_id, partition)).append("}:claimed");
  return key;
}

// FNV-1a: the same partition for a user on every node and every build.
unsigned RedisKeys::heartbeat_partition(std::string_view user) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : user) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash % kHeartbeatPartitions;
}

UserKeys RedisKeys::user(std::string_view app_id, std::string_view user) const {
  std::string base = prefix_;
  base.push_back('{');
  base.append(app_id).append(":u:").append(user).append("}:");
  return UserKeys{base + "user", base + "in", base + "events"};
}

bool split_tag(std::string_view tag, std::string_view& app_id, std::string_view& channel) {
  const auto colon = tag.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  app_id = tag.substr(0, colon);
  channel = tag.substr(colon + 1);
  return true;
}

}  // namespace greendot::engine::redis_engine
