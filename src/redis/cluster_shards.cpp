#include "redis/cluster_shards.hpp"

#include <charconv>
#include <optional>

#include "redis/cluster_slot.hpp"

namespace greendot::redis {

namespace {

// RESP3 gives each shard and node as a map, RESP2 as a flat array of the same key, value
// pairs: either way `elements` alternates names and values.
const Reply* field(const Reply& record, std::string_view name) {
  if (record.type != Reply::Type::Map && record.type != Reply::Type::Array) return nullptr;
  for (std::size_t i = 0; i + 1 < record.elements.size(); i += 2) {
    if (record.elements[i].is_string() && record.elements[i].text == name) {
      return &record.elements[i + 1];
    }
  }
  return nullptr;
}

std::optional<std::int64_t> integer(const Reply* value) {
  if (!value) return std::nullopt;
  if (value->type == Reply::Type::Integer) return value->integer;
  if (!value->is_string()) return std::nullopt;
  std::int64_t number = 0;
  const auto& text = value->text;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return number;
}

std::string_view text(const Reply* value) {
  return value && value->is_string() ? std::string_view(value->text) : std::string_view();
}

// Where to reach a node: the address it announces for clients (an IP, or a hostname when the
// cluster prefers those), else its IP, else the address the map was asked of.
std::optional<ClusterPrimary> address(const Reply& node, std::string_view asked_host, bool tls) {
  ClusterPrimary primary;
  std::string_view host = text(field(node, "endpoint"));
  if (host.empty() || host == "?") host = text(field(node, "ip"));
  if (host.empty() || host == "?") host = asked_host;
  primary.host = std::string(host);
  auto port = integer(field(node, tls ? "tls-port" : "port"));
  if (tls && (!port || *port == 0)) port = integer(field(node, "port"));  // TLS on the only port
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  primary.port = static_cast<std::uint16_t>(*port);
  return primary;
}

}  // namespace

std::variant<SlotMap, std::string> parse_cluster_shards(const Reply& reply,
                                                        std::string_view asked_host, bool tls) {
  if (reply.is_error()) return "CLUSTER SHARDS failed: " + reply.text;
  if (reply.type != Reply::Type::Array) return std::string("CLUSTER SHARDS: not a list of shards");
  SlotMap map;
  for (const Reply& shard : reply.elements) {
    const Reply* slots = field(shard, "slots");
    const Reply* nodes = field(shard, "nodes");
    if (!slots || !nodes || slots->type != Reply::Type::Array ||
        nodes->type != Reply::Type::Array || slots->elements.size() % 2 != 0) {
      return std::string("CLUSTER SHARDS: a shard without its slots and nodes");
    }
    const Reply* primary_node = nullptr;
    for (const Reply& node : nodes->elements) {
      if (text(field(node, "role")) == "master") primary_node = &node;
    }
    // A shard without a primary (being failed over) serves nothing until it has one.
    if (!primary_node) continue;
    auto primary = address(*primary_node, asked_host, tls);
    if (!primary) return std::string("CLUSTER SHARDS: a primary without a port");
    const std::size_t index = map.primaries.size();
    map.primaries.push_back(std::move(*primary));
    for (std::size_t i = 0; i < slots->elements.size(); i += 2) {
      const auto first = integer(&slots->elements[i]);
      const auto last = integer(&slots->elements[i + 1]);
      if (!first || !last || *first < 0 || *last < *first || *last >= kClusterSlots) {
        return std::string("CLUSTER SHARDS: a slot range out of 0-16383");
      }
      map.ranges.push_back(
          SlotRange{static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last), index});
    }
  }
  return map;
}

}  // namespace greendot::redis
