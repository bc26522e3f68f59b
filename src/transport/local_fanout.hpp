// LocalFanout: the subscribers of each channel on one event-loop thread.
// Single-threaded by design: every thread has its own, so delivery needs no locks.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/broker.hpp"

namespace greendot::transport {

// What a subscriber must offer to receive broadcasts.
class FrameSink {
 public:
  virtual void send_frame(const engine::SharedFrame& frame) = 0;
  virtual protocol::SocketId socket_id() const = 0;
  // Whether this subscriber is `user_id` in the presence channel `channel`.
  virtual bool is_member_as(std::string_view channel, std::string_view user_id) const = 0;
  // Whether this subscriber joined the presence channel `channel` with a join number above
  // `number` (see engine::ChannelMessage::joined_after).
  virtual bool joined_after(std::string_view channel, std::uint64_t number) const = 0;

 protected:
  ~FrameSink() = default;
};

class LocalFanout {
 public:
  // Adding a sink that is already subscribed changes nothing.
  void add(core::AppIndex app, std::string_view channel, FrameSink* sink);
  // Constant time, so that the mass leave of a big channel stays linear.
  void remove(core::AppIndex app, std::string_view channel, FrameSink* sink);
  // Sends the message's frame to every local subscriber of its channel but the excepted one.
  void deliver(const engine::ChannelMessage& message) const;
  std::size_t subscriber_count(core::AppIndex app, std::string_view channel) const;
  // Channels with at least one subscriber, over every app (for tests and diagnostics).
  std::size_t channel_count() const;

 private:
  // Delivery walks the vector; removal finds a sink's slot and fills it with the last one.
  // A channel of a few subscribers (the usual room) is searched; a large one keeps an index
  // of slots, which costs ~40 bytes a subscriber: built at kIndexFrom, dropped below half.
  struct Subscribers {
    std::vector<FrameSink*> sinks;
    std::unordered_map<FrameSink*, std::size_t> index;  // empty while the channel is small
  };
  static constexpr std::size_t kIndexFrom = 32;
  static std::size_t slot_of(const Subscribers& subscribers, FrameSink* sink);
  using Channels = std::unordered_map<std::string, Subscribers>;
  const Subscribers* find(core::AppIndex app, std::string_view channel) const;
  std::vector<Channels> apps_;  // indexed by app
};

}  // namespace greendot::transport
