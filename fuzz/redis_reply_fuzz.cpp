// Arbitrary bytes as a Redis server's replies. Besides crashes, leaks and undefined behaviour
// (hostile or corrupt servers, a proxy that mangles the stream), it checks that the replies do
// not depend on how the bytes were split into reads, and that every command the formatter
// writes reads back as one array of exactly its arguments. Every reply also goes through what
// a Cluster client reads from replies: the slot map (CLUSTER SHARDS) and redirections.
#include "redis/cluster_shards.hpp"
#include "redis/cluster_slot.hpp"
#include "redis/resp.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace redis = greendot::redis;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Small limits, so that the fuzzer reaches them.
redis::ReaderLimits limits() {
  redis::ReaderLimits l;
  l.max_bulk_bytes = 4096;
  l.max_elements = 256;
  l.max_depth = 16;
  return l;
}

// A map is only ever handed out whole and in range.
void check_cluster_readers(const redis::Reply& reply) {
  for (const bool tls : {false, true}) {
    auto parsed = redis::parse_cluster_shards(reply, "seed", tls);
    if (auto* map = std::get_if<redis::SlotMap>(&parsed)) {
      for (const auto& range : map->ranges) {
        check(range.primary < map->primaries.size());
        check(range.first <= range.last && range.last < redis::kClusterSlots);
      }
      for (const auto& primary : map->primaries) check(primary.port != 0);
    }
  }
  if (auto redirect = redis::parse_redirect(reply.text)) {
    check(redirect->slot < redis::kClusterSlots && redirect->port != 0);
  }
}

// The replies, then whether the stream failed, as one comparable text.
std::string read_all(std::string_view bytes, std::size_t step) {
  redis::ReplyReader reader(limits());
  std::string trace;
  bool failed = false;
  for (std::size_t i = 0; i < bytes.size() && !failed; i += step) {
    reader.feed(bytes.substr(i, step));
    for (;;) {
      auto next = reader.next();
      if (auto* reply = std::get_if<redis::Reply>(&next)) {
        check_cluster_readers(*reply);
        trace += std::to_string(static_cast<int>(reply->type)) + ":" + reply->text + ":" +
                 std::to_string(reply->elements.size()) + ";";
        continue;
      }
      failed = std::holds_alternative<redis::ProtocolError>(next);
      break;
    }
  }
  return trace + (failed ? "failed" : "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string whole = read_all(bytes, bytes.empty() ? 1 : bytes.size());
  const std::size_t step = bytes.empty() ? 1 : 1 + static_cast<unsigned char>(bytes[0]) % 7;
  const std::string pieces = read_all(bytes, step);
  check(whole == pieces);

  // The input's lines as a command: formatted, it reads back as an array of them.
  std::vector<std::string_view> args;
  for (std::size_t at = 0; at < bytes.size() && args.size() < 16;) {
    const auto end = bytes.find('\n', at);
    args.push_back(
        bytes.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  redis::ReplyReader echo;
  echo.feed(redis::format_command(args));
  auto next = echo.next();
  const auto* reply = std::get_if<redis::Reply>(&next);
  check(reply && reply->type == redis::Reply::Type::Array && reply->elements.size() == args.size());
  for (std::size_t i = 0; i < args.size(); ++i) check(reply->elements[i].text == args[i]);
  return 0;
}
