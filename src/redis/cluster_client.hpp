// The RedisClient of a Redis Cluster (7.0+). The slot map comes from CLUSTER SHARDS, asked of
// a connected primary or, before there is one, of the seed nodes in turn; each primary has a
// RedisLink of its own. A command goes to the primary owning its key's slot and follows the
// Cluster's redirections: MOVED (the slot lives elsewhere now: the map is corrected at once
// and refreshed in the background) and ASK (a slot being migrated: ASKING, then the command,
// on the node named), a bounded number of times; TRYAGAIN, CLUSTERDOWN and LOADING (a
// migration or a failover under way, a restarted node) are retried briefly. Every command ends
// by its deadline: with its reply, or with a ConnectionError (out of reach, no reply in time,
// a Cluster that stays unable to serve it).
//
// Pub/sub is sharded: subscribe() sends SSUBSCRIBE to the primary owning the channel's slot,
// and the subscription is kept across reconnects, failovers and slot moves (a node that loses
// a slot pushes sunsubscribe for its channels: they are subscribed again where the slot went).
// The client is up when the map is known and every primary serving slots is connected, its
// subscriptions renewed; on_up and on_down tell each change.
//
// Single-threaded: every call and every callback is on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "redis/cluster_node.hpp"
#include "redis/cluster_shards.hpp"
#include "redis/cluster_slot.hpp"
#include "redis/redis_client.hpp"

namespace greendot::redis {

class ClusterClient final : public RedisClient, public std::enable_shared_from_this<ClusterClient> {
 public:
  // `seeds`: nodes to ask for the slot map (any nodes of the Cluster; several, so that one
  // being down does not matter). Every node is logged in to with the first seed's username,
  // password and TLS, as a managed Cluster has one set of credentials; its database must be 0
  // (a Cluster has no other). `tls`: for rediss:// seeds (see make_tls_context).
  static std::shared_ptr<ClusterClient> create(boost::asio::io_context& io,
                                               std::vector<RedisEndpoint> seeds,
                                               ClientOptions options = {},
                                               std::shared_ptr<TlsContext> tls = nullptr);
  ClusterClient(boost::asio::io_context& io, std::vector<RedisEndpoint> seeds,
                ClientOptions options, std::shared_ptr<TlsContext> tls);
  ~ClusterClient() override;

  void start() override;
  void stop() override;
  bool up() const override;
  bool cluster() const override { return true; }
  void command(std::string_view key, std::span<const std::string_view> args,
               ReplyHandler done) override;
  void subscribe(const std::string& channel) override;
  void unsubscribe(const std::string& channel) override;
  bool listening(const std::string& channel) const override;

  // For logs and tests.
  struct Counters {
    std::uint64_t moved = 0;         // MOVED redirections followed
    std::uint64_t asked = 0;         // ASK redirections followed
    std::uint64_t retried = 0;       // TRYAGAIN / CLUSTERDOWN / LOADING retries
    std::uint64_t maps_applied = 0;  // slot maps read from CLUSTER SHARDS
  };
  const Counters& counters() const { return counters_; }
  // "host:port" of the primary the map gives `slot` to; empty while unknown.
  std::string primary_of(std::uint16_t slot) const;
  // Why the slot map could not be read last time (none read yet, or it was); empty otherwise.
  const std::string& map_error() const { return map_error_; }

 private:
  struct Request;
  using RequestPtr = std::shared_ptr<Request>;
  using NodePtr = std::shared_ptr<ClusterNode>;

  // Commands.
  void dispatch(const RequestPtr& request);
  void answered(const RequestPtr& request, const NodePtr& node, Result result);
  void redirected(const RequestPtr& request, const NodePtr& node, const Redirect& redirect,
                  const std::string& error);
  void retry_later(const RequestPtr& request, const std::string& error);
  void finish(const RequestPtr& request, Result result);
  void unpark(const NodePtr& node);
  void tick();

  // The map and the nodes.
  NodePtr owner(std::uint16_t slot) const;
  NodePtr any_primary();
  NodePtr node_at(const std::string& host, std::uint16_t port);
  void assign(std::uint16_t slot, const NodePtr& node);
  void refresh_map();
  void ask_seed(std::size_t index);
  void map_answered(Result result, const std::string& host, std::optional<std::size_t> seed);
  void apply_map(const SlotMap& map);
  void schedule_refresh();
  void node_up(const NodePtr& node);
  void node_down(const NodePtr& node, const std::string& why);
  bool current(const NodePtr& node) const;
  void update_up(const std::string& why);

  // Subscriptions.
  void pushed(const NodePtr& node, const Reply& push);
  void resubscribe();
  void resubscribe_soon();
  void resubscribe_later();
  void ssubscribe(const NodePtr& node, std::vector<std::string> channels);
  void ssubscribed(const NodePtr& node, const std::vector<std::string>& channels,
                   std::uint64_t sent, const Result& result);
  void sunsubscribe(const NodePtr& node, const std::string& channel);

  boost::asio::io_context& io_;
  const std::vector<RedisEndpoint> seeds_;
  const RedisEndpoint node_login_;  // credentials and TLS for every node
  const ClientOptions options_;
  const std::shared_ptr<TlsContext> tls_;

  std::unordered_map<std::string, NodePtr> nodes_;  // the primaries, by "host:port"
  std::vector<NodePtr> slots_;                      // each slot's primary; empty: no map yet
  bool refreshing_ = false;
  bool refresh_again_ = false;
  std::chrono::milliseconds map_backoff_;
  std::string map_error_;
  std::size_t next_primary_ = 0;

  // Every command not yet ended, in the order given, which is the order of their deadlines.
  std::deque<std::weak_ptr<Request>> by_deadline_;
  // Commands waiting for a node's first connection.
  std::vector<RequestPtr> parked_;

  // The channels subscribed, and where each is subscribed now.
  struct Placement {
    NodePtr node;            // none: not yet, or lost
    std::uint64_t sent = 0;  // the SSUBSCRIBE there whose confirmation counts
    bool confirmed = false;  // Redis confirmed it: messages reach this client
  };
  std::unordered_map<std::string, Placement> channels_;
  std::uint64_t subscribes_sent_ = 0;
  bool resubscribe_posted_ = false;
  std::chrono::milliseconds subscribe_backoff_;

  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer refresh_timer_;
  boost::asio::steady_timer resubscribe_timer_;
  bool resubscribe_timer_set_ = false;
  Counters counters_;
  bool was_up_ = false;
  bool stopped_ = true;
};

}  // namespace greendot::redis
