// MemberCopy: a node's own copy of the member list (as others see it: invisible members are
// not in it) of a channel it has subscribers in, kept
// current from the channel's member events and their versions, so that a joiner is answered
// without reading the whole list from Redis. An event older than the copy is dropped; one that
// skips a version, or comes from another epoch (the channel began again, e.g. Redis lost its
// data), means the copy must be read again, and the differences told to local subscribers.
#pragma once

#include <cstdint>
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
  Differences load(std::string epoch, std::uint64_t version, MemberList members,
                   bool keep_missing = false);
  Applied apply(const ChannelEvent& event);
  // Whether the copy includes every change up to (epoch, version).
  bool includes(std::string_view epoch, std::uint64_t version) const;
  // The subscription_succeeded presence data: {"presence":{"ids":..,"hash":..,"count":n}}.
  const std::string& presence_data();
  // The same with one more member: what an invisible joiner, in no one else's list, is told.
  std::string presence_data_with(const std::string& user, const std::string& info) const;
  void clear();

 private:
  std::unordered_map<std::string, std::string> members_;
  std::string epoch_;
  std::uint64_t version_ = 0;
  bool loaded_ = false;
  std::string presence_data_;
  bool presence_data_current_ = false;
};

}  // namespace greendot::engine::redis_engine
