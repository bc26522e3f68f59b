// The slot map of a Redis Cluster as CLUSTER SHARDS (Redis 7.0+, which replaces the deprecated
// CLUSTER SLOTS) describes it: each shard's slot ranges and its nodes, of which the primary is
// the one commands go to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "redis/resp.hpp"

namespace greendot::redis {

struct ClusterPrimary {
  std::string host;
  std::uint16_t port = 0;
};

struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;   // included
  std::size_t primary = 0;  // index into SlotMap::primaries
};

struct SlotMap {
  std::vector<ClusterPrimary> primaries;  // every shard's primary, slotless ones too
  std::vector<SlotRange> ranges;
};

// `asked_host`: the host the reply came from, for nodes that announce no address of their own
// (an empty endpoint, or "?" with cluster-preferred-endpoint-type unknown-endpoint). `tls`:
// each node's tls-port rather than its port. Slot numbers may come as integers or as strings
// (both have been seen from 7.0 servers). The map, or what is wrong with the reply.
std::variant<SlotMap, std::string> parse_cluster_shards(const Reply& reply,
                                                        std::string_view asked_host, bool tls);

}  // namespace greendot::redis
