// MemberCopy: a node's own copy of the member list (as others see it: invisible members are
// not in it) of a channel it has subscribers in, kept
// current from the channel's member events and their versions, so that a joiner is answered
// without reading the whole list from Redis. An event older than the copy is dropped; one that
// skips a version, or comes from another epoch (the channel began again, e.g. Redis lost its
// data), means the copy must be read again, and the differences told to local subscribers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/redis/channel_event.hpp"

namespace greendot::engine::redis_engine {

using MemberList = std::vector<std::pair<std::string, std::string>>;  // user id, user_info

class MemberCopy {
 public:
  enum class Applied {
    Changed,    // the list changed: tell local subscribers
    Unchanged,  // already so (or older than the copy): nothing to tell
    Gap,        // a version was missed, or the epoch changed: read the list again
  };

  struct Differences {
    MemberList added;
    std::vector<std::string> removed;
  };

  bool loaded() const { return loaded_; }
  const std::string& epoch() const { return epoch_; }
  std::uint64_t version() const { return version_; }
  std::size_t size() const { return members_.size(); }

  // The list as read from Redis at (epoch, version). Returns how it differs from the copy
  // (nothing for a copy not loaded before: nobody was told anything from it). With
  // `keep_missing`, members the list lacks stay in the copy, untold: after Redis lost its data
  // the nodes are still writing their sessions back, and a member missing now may be back in
  // a moment (read again later without it to tell the ones that are really gone).
  // `in_grace`: which of the members are in their grace (left out of joiners' lists), marked
  // as unseen by joiners numbered above `joins` (see apply).
  Differences load(std::string epoch, std::uint64_t version, MemberList members,
                   bool keep_missing = false, const std::vector<std::string>& in_grace = {},
                   std::uint64_t joins = 0);
  // `joins`: how many joiners this node has answered so far; a member whose grace begins now is
  // not in the lists of those that come after, who are to be told of a return.
  Applied apply(const ChannelEvent& event, std::uint64_t joins = 0);
  // For a member in their grace: the number of joiners that had seen them (a return is told to
  // those numbered above it). Nothing for one not in a grace.
  std::optional<std::uint64_t> seen_by(const std::string& user) const;
  // Whether the copy includes every change up to (epoch, version).
  bool includes(std::string_view epoch, std::uint64_t version) const;
  // The subscription_succeeded presence data: {"presence":{"ids":..,"hash":..,"count":n}}.
  const std::string& presence_data();
  // The same with one more member: what an invisible joiner, in no one else's list, is told.
  std::string presence_data_with(const std::string& user, const std::string& info) const;
  void clear();

 private:
  std::unordered_map<std::string, std::string> members_;     // everyone others see, graces too
  std::unordered_map<std::string, std::uint64_t> in_grace_;  // user -> seen_by
  std::string epoch_;
  std::uint64_t version_ = 0;
  bool loaded_ = false;
  std::string presence_data_;
  bool presence_data_current_ = false;
};

}  // namespace greendot::engine::redis_engine
