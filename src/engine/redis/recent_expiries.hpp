// The heartbeat expiry entries this node wrote lately, with the due time each was given. A
// ping whose entry still has half its TTL to run writes none: the tab's own due time in the
// channel's keys decides, and a sweep that finds an entry early puts it back at that time
// (heartbeat_scripts.hpp), so a tab that pings often costs Redis one script per ping and
// an entry now and then. A new tab always gets its entry first: the ping script refuses to
// begin a session it was told has one (it answers {"expiry"}), so a wrong guess here, a hash
// collision included, costs a round trip and never leaves a session without its entry.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <cstdint>
#include <string_view>

namespace greendot::engine::redis_engine {

class RecentExpiries {
 public:
  // What is not written or looked up for one to two generations is forgotten: the memory
  // held is that of the tabs that pinged lately.
  explicit RecentExpiries(std::int64_t generation_ms = 30'000);

  // Whether the entry was written with a due time at least `ahead_ms` after now_ms.
  bool fresh(std::string_view entry, std::int64_t now_ms, std::int64_t ahead_ms);
  void wrote(std::string_view entry, std::int64_t due_ms, std::int64_t now_ms);
  void forget(std::string_view entry);
  // After Redis may have lost writes (a reconnection, a failover): every entry is written again.
  void forget_all();
  std::size_t size() const { return current_.size() + previous_.size(); }

 private:
  void rotate(std::int64_t now_ms);

  // An entry's hash -> its due time (unix ms): ~20 bytes per tab that pinged lately.
  using Dues = boost::unordered_flat_map<std::uint64_t, std::int64_t>;
  Dues current_;
  Dues previous_;  // the generation before
  std::int64_t generation_ms_;
  std::int64_t rotated_ms_ = 0;
};

}  // namespace greendot::engine::redis_engine
