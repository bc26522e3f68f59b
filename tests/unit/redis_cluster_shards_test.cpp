// parse_cluster_shards on replies built the way Redis 7.0 sends them (RESP3 maps, or RESP2
// flat arrays; slot numbers as integers or strings), and on what it must refuse.
#include "redis/cluster_shards.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace greendot::redis {
namespace {

Reply text(std::string s) {
  Reply r;
  r.type = Reply::Type::Bulk;
  r.text = std::move(s);
  return r;
}
Reply number(std::int64_t n) {
  Reply r;
  r.type = Reply::Type::Integer;
  r.integer = n;
  return r;
}
Reply aggregate(Reply::Type type, std::vector<Reply> elements) {
  Reply r;
  r.type = type;
  r.elements = std::move(elements);
  return r;
}
Reply map(std::vector<std::pair<std::string, Reply>> fields, Reply::Type type = Reply::Type::Map) {
  std::vector<Reply> elements;
  for (auto& [name, value] : fields) {
    elements.push_back(text(name));
    elements.push_back(std::move(value));
  }
  return aggregate(type, std::move(elements));
}
Reply node(std::string endpoint, std::int64_t port, std::string role,
           std::optional<std::int64_t> tls_port = std::nullopt) {
  std::vector<std::pair<std::string, Reply>> fields{
      {"id", text("abc")},          {"port", number(port)},          {"ip", text("10.0.0.9")},
      {"endpoint", text(endpoint)}, {"role", text(std::move(role))}, {"health", text("online")}};
  if (tls_port) fields.emplace_back("tls-port", number(*tls_port));
  return map(std::move(fields));
}
Reply shard(std::vector<Reply> slots, std::vector<Reply> nodes) {
  return map({{"slots", aggregate(Reply::Type::Array, std::move(slots))},
              {"nodes", aggregate(Reply::Type::Array, std::move(nodes))}});
}

TEST(RedisClusterShards, ReadsEachShardsRangesAndPrimary) {
  const Reply reply =
      aggregate(Reply::Type::Array,
                {shard({number(0), number(5460), number(10923), number(10999)},
                       {node("10.0.0.2", 7001, "replica"), node("10.0.0.1", 7000, "master")}),
                 shard({text("5461"), text("10922")}, {node("cache-2.example", 7002, "master")}),
                 shard({}, {node("10.0.0.4", 7004, "master")})});
  auto parsed = parse_cluster_shards(reply, "seed", false);
  ASSERT_TRUE(std::holds_alternative<SlotMap>(parsed)) << std::get<std::string>(parsed);
  const auto& map = std::get<SlotMap>(parsed);
  ASSERT_EQ(map.primaries.size(), 3u) << "a primary without slots is still listed";
  EXPECT_EQ(map.primaries[0].host, "10.0.0.1") << "the primary, not the replica";
  EXPECT_EQ(map.primaries[0].port, 7000);
  EXPECT_EQ(map.primaries[1].host, "cache-2.example");
  ASSERT_EQ(map.ranges.size(), 3u);
  EXPECT_EQ(map.ranges[1].first, 10923);
  EXPECT_EQ(map.ranges[1].last, 10999);
  EXPECT_EQ(map.ranges[2].first, 5461) << "slot numbers given as strings";
  EXPECT_EQ(map.ranges[2].primary, 1u);
}

TEST(RedisClusterShards, FallsBackToTheIpThenToTheHostAsked) {
  Reply no_endpoint = node("", 7000, "master");
  Reply unknown = node("?", 7001, "master");
  unknown.elements[5] = text("");  // no ip either
  const Reply reply = aggregate(Reply::Type::Array, {shard({number(0), number(1)}, {no_endpoint}),
                                                     shard({number(2), number(3)}, {unknown})});
  const auto map = std::get<SlotMap>(parse_cluster_shards(reply, "seed.example", false));
  EXPECT_EQ(map.primaries[0].host, "10.0.0.9");
  EXPECT_EQ(map.primaries[1].host, "seed.example");
}

TEST(RedisClusterShards, TakesTheTlsPortForTlsAndReadsRespTwoArrays) {
  Reply flat = aggregate(
      Reply::Type::Array,
      {map({{"slots", aggregate(Reply::Type::Array, {number(0), number(16383)})},
            {"nodes", aggregate(Reply::Type::Array, {node("10.0.0.1", 7000, "master", 7443)})}},
           Reply::Type::Array)});
  EXPECT_EQ(std::get<SlotMap>(parse_cluster_shards(flat, "", true)).primaries[0].port, 7443);
  EXPECT_EQ(std::get<SlotMap>(parse_cluster_shards(flat, "", false)).primaries[0].port, 7000);
}

TEST(RedisClusterShards, SkipsAShardWithoutPrimaryAndRefusesNonsense) {
  const Reply orphan =
      aggregate(Reply::Type::Array, {shard({number(0), number(9)}, {node("a", 1, "replica")})});
  EXPECT_TRUE(std::get<SlotMap>(parse_cluster_shards(orphan, "", false)).ranges.empty());

  Reply error;
  error.type = Reply::Type::Error;
  error.text = "ERR This instance has cluster support disabled";
  auto refused = parse_cluster_shards(error, "", false);
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_NE(std::get<std::string>(refused).find("cluster support disabled"), std::string::npos);

  const Reply out_of_range =
      aggregate(Reply::Type::Array, {shard({number(0), number(16384)}, {node("a", 1, "master")})});
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cluster_shards(out_of_range, "", false)));
  const Reply backwards =
      aggregate(Reply::Type::Array, {shard({number(9), number(3)}, {node("a", 1, "master")})});
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cluster_shards(backwards, "", false)));
  const Reply odd = aggregate(Reply::Type::Array, {shard({number(9)}, {node("a", 1, "master")})});
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cluster_shards(odd, "", false)));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cluster_shards(text("x"), "", false)));
  const Reply no_port =
      aggregate(Reply::Type::Array, {shard({number(0), number(1)}, {node("a", 0, "master")})});
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cluster_shards(no_port, "", false)));
}

}  // namespace
}  // namespace greendot::redis
