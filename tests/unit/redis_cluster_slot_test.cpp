#include "redis/cluster_slot.hpp"

#include <gtest/gtest.h>

namespace greendot::redis {
namespace {

TEST(ClusterSlot, KnownSlots) {
  // CRC16-XMODEM("123456789") is 0x31C3, the check value of the specification.
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % kClusterSlots);
  EXPECT_EQ(key_slot("foo"), 12182);  // CLUSTER KEYSLOT foo
  EXPECT_EQ(key_slot(""), 0);
  // As redis-server 7.0 answers CLUSTER KEYSLOT.
  EXPECT_EQ(key_slot("{user1000}.following"), 3443);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);
}

TEST(ClusterSlot, HashTagsAsTheSpecificationSays) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}") << "an empty tag hashes the whole key";
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hash_tag("foo{bar"), "foo{bar");
}

TEST(ClusterSlot, Redirects) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::Moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = parse_redirect("ASK 16383 ::1:7000");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::Ask);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 7000);
  auto unknown_host = parse_redirect("MOVED 1 :6380");
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->host, "") << "the address the client reached the node at";
  EXPECT_FALSE(parse_redirect("ERR unknown command"));
  EXPECT_FALSE(parse_redirect("MOVED 16384 127.0.0.1:6381")) << "no such slot";
  EXPECT_FALSE(parse_redirect("MOVED x 127.0.0.1:6381"));
  EXPECT_FALSE(parse_redirect("MOVED 1 127.0.0.1"));
  EXPECT_FALSE(parse_redirect("MOVED 1 127.0.0.1:0"));
}

}  // namespace
}  // namespace greendot::redis
