// Broker: carries a message to every subscriber of a channel, wherever it is connected.
//
// The embedded broker hands it to every event-loop thread of this process; a Redis broker
// will also publish it to the other nodes. Messages are serialized once, as the complete
// WebSocket frame, and shared read-only by every recipient.
#pragma once

#include <memory>
#include <string>

#include "core/presence_book.hpp"
#include "protocol/socket_id.hpp"

namespace greendot::engine {

using SharedFrame = std::shared_ptr<const std::string>;

struct ChannelMessage {
  core::AppIndex app = 0;
  std::string channel;
  SharedFrame frame;          // one complete WebSocket text frame
  protocol::SocketId except;  // the one connection not to deliver to (empty: none)
  // Not delivered to the subscribers that are this user in the channel either (empty: none):
  // an invisible user's own pages keep seeing them while the others see them leave.
  std::string except_user;
  // Not 0: only for the presence subscribers whose join number in the channel is above it (the
  // joiners not given a member who is back from their grace).
  std::uint64_t joined_after = 0;
};

// Where a broker delivers: one per event-loop thread. deliver() may be called from any thread.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void deliver(std::shared_ptr<const ChannelMessage> message) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // Thread-safe. Messages published by one thread reach each sink in the order published.
  virtual void publish(ChannelMessage message) = 0;
};

// Wraps a message text into the shared frame every recipient writes.
SharedFrame make_text_frame(std::string_view text);

}  // namespace greendot::engine
