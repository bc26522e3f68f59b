#include "redis/cluster_node.hpp"

namespace greendot::redis {

std::string node_address(std::string_view host, std::uint16_t port) {
  return std::string(host).append(":").append(std::to_string(port));
}

ClusterNode::ClusterNode(boost::asio::io_context& io, RedisEndpoint endpoint,
                         RedisLink::Backoff backoff, std::shared_ptr<TlsContext> tls)
    : address_(node_address(endpoint.host, endpoint.port)),
      link_(RedisLink::create(io, std::move(endpoint), backoff, std::move(tls))),
      watch_(std::make_shared<ReplyWatch>()) {}

// Replies come in the order the commands were sent, so the oldest time is the next answered.
ReplyHandler ClusterNode::tracked(ReplyHandler done) {
  watch_->sent(std::chrono::steady_clock::now());
  return [watch = watch_, done = std::move(done)](Result result) {
    watch->replied(std::chrono::steady_clock::now());
    done(std::move(result));
  };
}

void ClusterNode::command(std::span<const std::string_view> args, ReplyHandler done) {
  if (!up()) return done(ConnectionError{"the primary at " + address_ + " is out of reach"});
  link_->command(args, tracked(std::move(done)));
}

void ClusterNode::subscription_command(std::span<const std::string_view> args, ReplyHandler done) {
  if (!up()) return done(ConnectionError{"the primary at " + address_ + " is out of reach"});
  link_->subscription_command(args, tracked(std::move(done)));
}

}  // namespace greendot::redis
