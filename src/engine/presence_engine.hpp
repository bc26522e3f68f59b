// PresenceEngine: where presence state lives. The rest of the server talks only to this
// interface, so that the embedded engine (one node, memory) and a shared engine (many nodes,
// Redis) are interchangeable.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/presence_book.hpp"
#include "protocol/socket_id.hpp"

namespace greendot::engine {

struct JoinRequest {
  core::AppIndex app = 0;
  std::string channel;
  std::string user_id;
  std::string user_info;  // JSON text
  core::SessionId session = 0;
  protocol::SocketId socket;  // excluded from this join's member_added
  std::size_t max_members = 0;
};

struct JoinOutcome {
  bool accepted = false;
  // {"presence":{"ids":[...],"hash":{...},"count":n}} including the joiner, when accepted.
  std::string presence_data;
};

// Called exactly once, on an engine thread, ordered with the channel's member events: a
// transport must only post it to its own thread, never block in it or call the engine.
using JoinCallback = std::function<void(JoinOutcome)>;

class PresenceEngine {
 public:
  virtual ~PresenceEngine() = default;

  // Adds a session of a user to a presence channel; tells the other subscribers
  // (member_added) when it is the user's first.
  virtual void join(JoinRequest request, JoinCallback done) = 0;

  // Ends a session; the user is removed (member_removed) when it was their last and no
  // session comes back within `grace_ms`.
  virtual void leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
                     core::SessionId session, core::Millis grace_ms) = 0;

  // Housekeeping (ends of grace and, later, expiries); the server calls it about every 100 ms.
  virtual void tick(core::Millis now) = 0;
};

}  // namespace greendot::engine
