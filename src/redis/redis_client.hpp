// RedisClient: what the Redis engine needs of Redis, whether one server or a Cluster. Commands
// are routed by the key they touch (a Cluster sends each to the primary owning its slot and
// follows MOVED / ASK), pub/sub subscriptions are kept across reconnects (SUBSCRIBE on one
// server, SSUBSCRIBE on the shard owning the channel in a Cluster), and every command ends:
// with its reply, or with a ConnectionError when the server is out of reach or the command's
// deadline passed.
//
// Single-threaded: every call and every callback is on the io_context's thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection.hpp"

namespace greendot::redis {

class RedisClient {
 public:
  using MessageHandler = std::function<void(std::string_view channel, std::string_view payload)>;
  using UpHandler = std::function<void()>;
  using DownHandler = std::function<void(const std::string& why)>;
  using ListeningHandler = std::function<void(const std::string& channel)>;

  virtual ~RedisClient() = default;

  // Connects, and keeps reconnecting with backoff until stop().
  virtual void start() = 0;
  virtual void stop() = 0;
  // Whether commands can be sent now.
  virtual bool up() const = 0;
  // A Cluster: pub/sub is sharded (SPUBLISH in scripts, SSUBSCRIBE here) and every script
  // touches keys of one slot only.
  virtual bool cluster() const = 0;

  // Runs a command on the server owning `key` ("" for one that touches no key).
  virtual void command(std::string_view key, std::span<const std::string_view> args,
                       ReplyHandler done) = 0;

  // Messages of subscribed channels go to on_message. Subscribing twice is one subscription.
  virtual void subscribe(const std::string& channel) = 0;
  virtual void unsubscribe(const std::string& channel) = 0;
  // Whether Redis has confirmed the channel's subscription on the connection that carries it
  // now: from then on every message published to the channel reaches on_message. Not until
  // then: a message published between subscribe() and the confirmation is not delivered.
  virtual bool listening(const std::string& channel) const = 0;

  // Scripts every connection loads as it is made (before start): EVALSHA of them is then
  // answered in order, never NOSCRIPT, after a restart or a failover too.
  virtual void load_scripts_on_connect(std::vector<std::string> scripts) {
    *scripts_ = std::move(scripts);
  }

  void on_message(MessageHandler handler) { on_message_ = std::move(handler); }
  // Told each time the client can serve again (the first time included), after it has
  // resubscribed: whatever Redis may have lost meanwhile is re-asserted from here.
  void on_up(UpHandler handler) { on_up_ = std::move(handler); }
  void on_down(DownHandler handler) { on_down_ = std::move(handler); }
  // Told each time a channel subscribed becomes listening (again, after a reconnection or a
  // slot that moved).
  void on_listening(ListeningHandler handler) { on_listening_ = std::move(handler); }

 protected:
  // Shared with each connection's link, which reads it when it connects.
  std::shared_ptr<std::vector<std::string>> scripts_ = std::make_shared<std::vector<std::string>>();
  MessageHandler on_message_;
  UpHandler on_up_;
  DownHandler on_down_;
  ListeningHandler on_listening_;
};

struct ClientOptions {
  // A command without a reply after this long fails, and its connection is dropped and made
  // again (a pipelined connection cannot skip one reply).
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

}  // namespace greendot::redis
