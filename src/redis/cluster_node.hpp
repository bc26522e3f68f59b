// One primary of a Redis Cluster as the ClusterClient sees it: a RedisLink to it (reconnecting
// by itself), when each command still unanswered on it was sent (a pipelined connection that
// stops answering must be dropped and made again), and how many slots the map gives it.
//
// Single-threaded, like RedisLink.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "redis/redis_link.hpp"
#include "redis/reply_watch.hpp"

namespace greendot::redis {

class ClusterNode {
 public:
  ClusterNode(boost::asio::io_context& io, RedisEndpoint endpoint, RedisLink::Backoff backoff,
              std::shared_ptr<TlsContext> tls);

  // "host:port", as the Cluster names the node.
  const std::string& address() const { return address_; }
  const RedisEndpoint& endpoint() const { return link_->endpoint(); }
  RedisLink& link() { return *link_; }
  bool up() const { return link_->up(); }
  // Never reached yet (just learned of): a command for it waits for the first connection
  // rather than failing at once, as it does on a node that was up and went.
  bool never_connected() const { return link_->connections_made() == 0; }

  void command(std::span<const std::string_view> args, ReplyHandler done);
  void subscription_command(std::span<const std::string_view> args, ReplyHandler done);
  // Commands wait and the node has not answered any for `timeout` (see ReplyWatch).
  bool stalled(std::chrono::steady_clock::time_point now, std::chrono::milliseconds timeout) {
    return watch_->stalled(now, timeout);
  }
  // The connection went: its commands are answered (failed) and no longer waited for.
  void forget_sent() { watch_->clear(); }

  std::size_t slots = 0;  // how many slots the client's map gives it

 private:
  ReplyHandler tracked(ReplyHandler done);

  std::string address_;
  std::shared_ptr<RedisLink> link_;
  // Shared with the reply handlers, which may outlive this node (removed from the map while
  // commands are in flight).
  std::shared_ptr<ReplyWatch> watch_;
};

std::string node_address(std::string_view host, std::uint16_t port);

}  // namespace greendot::redis
