// Where the Redis engine keeps a channel: every key under one hash tag, and the shortcuts a
// message and a leave use naming the same things as the full set.
#include "engine/redis/redis_keys.hpp"

#include <gtest/gtest.h>

#include "redis/cluster_slot.hpp"

namespace greendot::engine::redis_engine {
namespace {

TEST(RedisKeys, EveryKeyOfAChannelIsInOneSlotAndTheShortcutsAgree) {
  const RedisKeys keys("gd:");
  const ChannelKeys channel = keys.channel("app-1", "presence-room.7", "node1");
  const auto slot = redis::key_slot(channel.keys[0]);
  for (const auto& key : channel.keys) EXPECT_EQ(redis::key_slot(key), slot) << key;
  EXPECT_EQ(redis::key_slot(channel.events), slot);
  EXPECT_EQ(keys.events("app-1", "presence-room.7"), channel.events);
  EXPECT_EQ(RedisKeys::tag("app-1", "presence-room.7"), channel.tag);
  EXPECT_EQ(channel.keys[5], "gd:{app-1:presence-room.7}:node:node1");
  std::string_view app, name;
  ASSERT_TRUE(split_tag(channel.tag, app, name));
  EXPECT_EQ(app, "app-1");
  EXPECT_EQ(name, "presence-room.7");
  EXPECT_FALSE(split_tag("no-colon", app, name));
}

// A Cluster made by redis-cli --cluster create gives each primary an equal range of slots: the
// heartbeat expiry partitions of an app are spread over them evenly, whatever the app's name.
TEST(RedisKeys, TheHeartbeatPartitionsOfAnAppAreSpreadEvenlyOverTheSlots) {
  const RedisKeys keys("gd:");
  for (const std::string app : {"app", "bench", "bench-hb", "my-site"}) {
    int per_primary[3] = {0, 0, 0};
    for (unsigned p = 0; p < RedisKeys::kHeartbeatPartitions; ++p) {
      const auto slot = redis::key_slot(keys.heartbeat_due(app, p));
      EXPECT_EQ(slot, redis::key_slot(keys.heartbeat_claimed(app, p)));
      EXPECT_EQ(slot * RedisKeys::kHeartbeatPartitions / redis::kClusterSlots, p) << app;
      ++per_primary[slot * 3 / redis::kClusterSlots];
    }
    for (int n : per_primary) {
      EXPECT_GE(n, 5) << app;
      EXPECT_LE(n, 6) << app;
    }
  }
}

}  // namespace
}  // namespace greendot::engine::redis_engine
