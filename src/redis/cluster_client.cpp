#include "redis/cluster_client.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <map>
#include <unordered_set>
#include <utility>

#include "redis/one_shot_query.hpp"

namespace greendot::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(100);
// MOVED then ASK during a migration is two; more means the nodes disagree for now.
constexpr unsigned kMaxRedirects = 5;
// TRYAGAIN (a multi-key command during a migration), CLUSTERDOWN, LOADING: 20 ms doubling,
// five times (0.6 s in all), never past the command's deadline.
constexpr auto kFirstRetry = std::chrono::milliseconds(20);
constexpr unsigned kMaxRetries = 5;
// The map is read again this often while everything is up, to learn of changes no reply has
// shown (a new primary, a failover of a node no command went to), and more often while a
// primary is out of reach (its replica may be promoted meanwhile).
constexpr auto kRefreshWhileUp = std::chrono::seconds(10);
constexpr auto kRefreshWhileDegraded = std::chrono::seconds(1);
// One SSUBSCRIBE may carry any number of channels of one slot; renewing many goes in batches.
constexpr std::size_t kSubscribeBatch = 512;

constexpr std::string_view kShards[] = {"CLUSTER", "SHARDS"};
constexpr std::string_view kAsking[] = {"ASKING"};

bool transient(std::string_view error) {
  return error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN") ||
         error.starts_with("LOADING");
}

RedisEndpoint login_of(const std::vector<RedisEndpoint>& seeds) {
  RedisEndpoint login = seeds.empty() ? RedisEndpoint{} : seeds.front();
  login.db = 0;
  return login;
}

}  // namespace

struct ClusterClient::Request {
  std::vector<std::string> args;
  std::optional<std::uint16_t> slot;  // none: any primary
  ReplyHandler done;                  // empty once ended
  Clock::time_point deadline;
  unsigned redirects = 0;
  unsigned retries = 0;
  NodePtr ask;       // the next send goes there, after ASKING
  NodePtr awaiting;  // parked until this node's first connection
  std::string last_error;
};

std::shared_ptr<ClusterClient> ClusterClient::create(boost::asio::io_context& io,
                                                     std::vector<RedisEndpoint> seeds,
                                                     ClientOptions options,
                                                     std::shared_ptr<TlsContext> tls) {
  return std::make_shared<ClusterClient>(io, std::move(seeds), options, std::move(tls));
}

ClusterClient::ClusterClient(boost::asio::io_context& io, std::vector<RedisEndpoint> seeds,
                             ClientOptions options, std::shared_ptr<TlsContext> tls)
    : io_(io),
      seeds_(std::move(seeds)),
      node_login_(login_of(seeds_)),
      options_(options),
      tls_(std::move(tls)),
      map_backoff_(options.first_backoff),
      subscribe_backoff_(options.first_backoff),
      tick_timer_(io),
      refresh_timer_(io),
      resubscribe_timer_(io) {}

ClusterClient::~ClusterClient() {
  for (auto& [address, node] : nodes_) node->link().stop();
}

void ClusterClient::start() {
  if (!stopped_) return;
  stopped_ = false;
  map_backoff_ = options_.first_backoff;
  if (seeds_.empty()) map_error_ = "no seed nodes were given";
  refresh_map();
  tick();
}

void ClusterClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  tick_timer_.cancel();
  refresh_timer_.cancel();
  resubscribe_timer_.cancel();
  resubscribe_timer_set_ = false;
  auto nodes = std::move(nodes_);
  nodes_.clear();
  slots_.clear();
  was_up_ = false;
  for (auto& [channel, where] : channels_) where = {};
  for (auto& [address, node] : nodes) node->link().stop();  // fails the commands in flight
  parked_.clear();
  auto outstanding = std::move(by_deadline_);
  by_deadline_.clear();
  for (auto& weak : outstanding) {
    if (auto request = weak.lock()) finish(request, ConnectionError{"the Redis client stopped"});
  }
}

bool ClusterClient::up() const {
  if (stopped_ || slots_.empty()) return false;
  bool any = false;
  for (const auto& [address, node] : nodes_) {
    if (node->slots == 0) continue;
    if (!node->up()) return false;
    any = true;
  }
  return any;
}

std::string ClusterClient::primary_of(std::uint16_t slot) const {
  auto node = owner(slot);
  return node ? node->address() : std::string();
}

// ---- Commands -------------------------------------------------------------------------------

void ClusterClient::command(std::string_view key, std::span<const std::string_view> args,
                            ReplyHandler done) {
  auto request = std::make_shared<Request>();
  request->args.assign(args.begin(), args.end());
  if (!key.empty()) request->slot = key_slot(key);
  request->done = std::move(done);
  request->deadline = Clock::now() + options_.command_timeout;
  if (stopped_) return finish(request, ConnectionError{"the Redis client is not started"});
  by_deadline_.push_back(request);
  dispatch(request);
}

void ClusterClient::dispatch(const RequestPtr& request) {
  if (!request->done) return;
  if (stopped_) return finish(request, ConnectionError{"the Redis client stopped"});
  NodePtr node = std::exchange(request->ask, nullptr);
  const bool asking = node != nullptr;
  if (!node) node = request->slot ? owner(*request->slot) : any_primary();
  if (!node) {
    return finish(request,
                  ConnectionError{slots_.empty() ? "the Cluster's slot map is not known yet"
                                                 : "no primary serves the key's slot"});
  }
  if (!node->up()) {
    if (!node->never_connected())
      return finish(request,
                    ConnectionError{"the primary at " + node->address() + " is out of reach"});
    request->awaiting = node;
    if (asking) request->ask = node;
    parked_.push_back(request);
    return;
  }
  // ASKING holds for the next command of this connection only: the two go together.
  if (asking) node->command(kAsking, [](Result) {});
  const std::vector<std::string_view> args(request->args.begin(), request->args.end());
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  node->command(args, [weak, request, node](Result result) {
    if (auto self = weak.lock()) return self->answered(request, node, std::move(result));
    if (auto done = std::exchange(request->done, nullptr)) done(std::move(result));
  });
}

void ClusterClient::answered(const RequestPtr& request, const NodePtr& node, Result result) {
  if (!request->done) return;  // ended by its deadline meanwhile
  // A command that may have run is never sent again: a connection that failed under it ends it.
  auto* reply = std::get_if<Reply>(&result);
  if (!reply || !reply->is_error()) return finish(request, std::move(result));
  if (auto redirect = parse_redirect(reply->text)) {
    return redirected(request, node, *redirect, reply->text);
  }
  if (transient(reply->text)) return retry_later(request, reply->text);
  finish(request, std::move(result));
}

void ClusterClient::redirected(const RequestPtr& request, const NodePtr& node,
                               const Redirect& redirect, const std::string& error) {
  if (++request->redirects > kMaxRedirects) {
    return finish(request, ConnectionError{"redirected too many times (last: " + error + ")"});
  }
  // No host: the node means the address we reached it at, on the port it names.
  const std::string& host =
      redirect.host.empty() || redirect.host == "?" ? node->endpoint().host : redirect.host;
  NodePtr target = node_at(host, redirect.port);
  if (redirect.kind == Redirect::Kind::Moved) {
    ++counters_.moved;
    assign(redirect.slot, target);
    refresh_map();  // other slots may have moved too
    update_up("the slot moved to " + target->address() + ", not connected yet");
  } else {
    ++counters_.asked;
    request->ask = target;  // this command only: the map stays as it is
  }
  dispatch(request);
}

void ClusterClient::retry_later(const RequestPtr& request, const std::string& error) {
  const auto delay = kFirstRetry * (1u << request->retries);
  request->last_error = error;
  if (++request->retries > kMaxRetries || Clock::now() + delay >= request->deadline) {
    return finish(request, ConnectionError{"the Cluster cannot serve it now: " + error});
  }
  ++counters_.retried;
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  timer->async_wait([weak, request, timer](const boost::system::error_code&) {
    if (auto self = weak.lock()) return self->dispatch(request);
    if (auto done = std::exchange(request->done, nullptr)) {
      done(ConnectionError{"the Redis client is gone"});
    }
  });
}

void ClusterClient::finish(const RequestPtr& request, Result result) {
  request->ask.reset();
  request->awaiting.reset();
  if (auto done = std::exchange(request->done, nullptr)) done(std::move(result));
}

// A node just connected for the first time: what waited for it goes now.
void ClusterClient::unpark(const NodePtr& node) {
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto& request : parked) {
    if (!request->done) continue;
    if (request->awaiting == node || !current(request->awaiting)) {
      request->awaiting.reset();
      if (request->ask && !current(request->ask)) request->ask.reset();
      dispatch(request);
    } else {
      parked_.push_back(std::move(request));
    }
  }
}

// Every 100 ms: commands past their deadline end, and a connection whose oldest command has
// had no reply for a whole command_timeout is dropped and made again (its replies come in
// order: one that never comes holds back all the others).
void ClusterClient::tick() {
  const auto now = Clock::now();
  std::vector<NodePtr> stalled;
  for (auto& [address, node] : nodes_) {
    if (node->stalled(now, options_.command_timeout)) stalled.push_back(node);
  }
  for (auto& node : stalled) node->link().drop();
  while (!by_deadline_.empty()) {
    auto request = by_deadline_.front().lock();
    if (request && request->done && request->deadline > now) break;
    by_deadline_.pop_front();
    if (!request || !request->done) continue;
    std::string why = "no reply from the Cluster within the deadline";
    if (!request->last_error.empty()) why.append(" (last: ").append(request->last_error) += ")";
    finish(request, ConnectionError{std::move(why)});
  }
  std::erase_if(parked_, [](const RequestPtr& request) { return !request->done; });
  tick_timer_.expires_after(kTick);
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  tick_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self && !self->stopped_) self->tick();
  });
}

// ---- The map and the nodes ----------------------------------------------------------------

ClusterClient::NodePtr ClusterClient::owner(std::uint16_t slot) const {
  return slots_.empty() ? nullptr : slots_[slot];
}

// For a command that touches no key, and for reading the map: a connected primary, in turn.
ClusterClient::NodePtr ClusterClient::any_primary() {
  std::vector<NodePtr> serving;
  for (auto& [address, node] : nodes_) {
    if (node->slots > 0) serving.push_back(node);
  }
  if (serving.empty()) return nullptr;
  for (std::size_t i = 0; i < serving.size(); ++i) {
    auto& node = serving[(next_primary_ + i) % serving.size()];
    if (node->up()) {
      next_primary_ += i + 1;
      return node;
    }
  }
  return serving[next_primary_++ % serving.size()];
}

ClusterClient::NodePtr ClusterClient::node_at(const std::string& host, std::uint16_t port) {
  const std::string address = node_address(host, port);
  if (auto found = nodes_.find(address); found != nodes_.end()) return found->second;
  RedisEndpoint endpoint = node_login_;
  endpoint.host = host;
  endpoint.port = port;
  auto node = std::make_shared<ClusterNode>(
      io_, std::move(endpoint), RedisLink::Backoff{options_.first_backoff, options_.max_backoff},
      tls_);
  node->link().load_scripts_on_connect(scripts_);
  nodes_.emplace(address, node);
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  std::weak_ptr<ClusterNode> weak_node = node;
  node->link().on_up([weak, weak_node] {
    auto self = weak.lock();
    auto node = weak_node.lock();
    if (self && node) self->node_up(node);
  });
  node->link().on_down([weak, weak_node](const std::string& why) {
    auto self = weak.lock();
    auto node = weak_node.lock();
    if (self && node) self->node_down(node, why);
  });
  node->link().on_push([weak, weak_node](Reply push) {
    auto self = weak.lock();
    auto node = weak_node.lock();
    if (self && node) self->pushed(node, push);
  });
  node->link().start();
  return node;
}

void ClusterClient::assign(std::uint16_t slot, const NodePtr& node) {
  if (slots_.empty()) return;
  auto& owner = slots_[slot];
  if (owner == node) return;
  if (owner) --owner->slots;
  owner = node;
  if (owner) ++owner->slots;
}

bool ClusterClient::current(const NodePtr& node) const {
  if (!node) return false;
  auto found = nodes_.find(node->address());
  return found != nodes_.end() && found->second == node;
}

// One read of the map at a time; asked for again meanwhile, it is read once more after.
void ClusterClient::refresh_map() {
  if (stopped_) return;
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  refreshing_ = true;
  NodePtr node = any_primary();
  if (!node || !node->up()) return ask_seed(0);
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  node->command(kShards, [weak, host = node->endpoint().host](Result result) {
    if (auto self = weak.lock()) self->map_answered(std::move(result), host, std::nullopt);
  });
}

void ClusterClient::ask_seed(std::size_t index) {
  if (index >= seeds_.size()) {
    return map_answered(ConnectionError{"no seed node answered"}, "", index);
  }
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  one_shot_query(io_, seeds_[index], tls_, kShards, options_.command_timeout,
                 [weak, index, host = seeds_[index].host](Result result) {
                   if (auto self = weak.lock()) self->map_answered(std::move(result), host, index);
                 });
}

// `seed`: which seed answered; none: a connected primary. A failure tries the next seed.
void ClusterClient::map_answered(Result result, const std::string& host,
                                 std::optional<std::size_t> seed) {
  if (stopped_) {
    refreshing_ = false;
    return;
  }
  std::string error;
  std::optional<SlotMap> map;
  if (auto* reply = std::get_if<Reply>(&result)) {
    auto parsed = parse_cluster_shards(*reply, host, node_login_.tls);
    if (auto* got = std::get_if<SlotMap>(&parsed); got && got->ranges.empty()) {
      error = "the Cluster has no slots assigned";
    } else if (got) {
      map = std::move(*got);
    } else {
      error = std::get<std::string>(parsed);
    }
  } else {
    error = std::get<ConnectionError>(result).message;
  }
  if (!map) {
    const std::size_t next = seed ? *seed + 1 : 0;
    if (next < seeds_.size()) return ask_seed(next);
    map_error_ = seeds_.empty() ? "no seed nodes were given" : error;
    refreshing_ = false;
    refresh_again_ = false;
    return schedule_refresh();
  }
  map_error_.clear();
  map_backoff_ = options_.first_backoff;
  apply_map(*map);
  refreshing_ = false;
  if (std::exchange(refresh_again_, false)) return refresh_map();
  schedule_refresh();
}

void ClusterClient::apply_map(const SlotMap& map) {
  ++counters_.maps_applied;
  std::vector<NodePtr> primaries;
  std::unordered_set<std::string> listed;
  for (const auto& primary : map.primaries) {
    primaries.push_back(node_at(primary.host, primary.port));
    listed.insert(primaries.back()->address());
  }
  std::vector<NodePtr> owners(kClusterSlots);
  for (const auto& range : map.ranges) {
    for (unsigned slot = range.first; slot <= range.last; ++slot) {
      owners[slot] = primaries[range.primary];
    }
  }
  for (auto& [address, node] : nodes_) node->slots = 0;
  for (auto& node : owners) {
    if (node) ++node->slots;
  }
  slots_ = std::move(owners);
  // A node that is no longer a primary (a replica now, or gone) is let go: its commands in
  // flight fail, and what waited for it is sent where the map says now.
  std::vector<NodePtr> removed;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (listed.contains(it->first)) {
      ++it;
      continue;
    }
    removed.push_back(it->second);
    it = nodes_.erase(it);
  }
  for (auto& [channel, where] : channels_) {
    if (where.node && !current(where.node)) where = {};
  }
  for (auto& node : removed) node->link().stop();
  if (!removed.empty()) unpark(nullptr);
  resubscribe();
  update_up("the slot map names a primary not connected yet");
}

void ClusterClient::schedule_refresh() {
  std::chrono::milliseconds delay = kRefreshWhileUp;
  if (slots_.empty()) {
    delay = map_backoff_;
    map_backoff_ = std::min(map_backoff_ * 2, options_.max_backoff);
  } else if (!up()) {
    delay = kRefreshWhileDegraded;
  }
  refresh_timer_.expires_after(delay);
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  refresh_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self) self->refresh_map();
  });
}

// Subscriptions are renewed before anything else goes on the new connection, and before
// on_up: what the engine does next comes after them.
void ClusterClient::node_up(const NodePtr& node) {
  if (!current(node)) return;
  resubscribe();
  unpark(node);
  update_up("");
}

void ClusterClient::node_down(const NodePtr& node, const std::string& why) {
  node->forget_sent();
  if (!current(node)) return;
  for (auto& [channel, where] : channels_) {
    if (where.node == node) where = {};
  }
  update_up("the primary at " + node->address() + " is out of reach: " + why);
  refresh_map();  // a replica may take its place
}

void ClusterClient::update_up(const std::string& why) {
  const bool now_up = up();
  if (now_up == was_up_) return;
  was_up_ = now_up;
  if (now_up) {
    subscribe_backoff_ = options_.first_backoff;
    if (on_up_) on_up_();
  } else if (on_down_) {
    on_down_(why);
  }
}

// ---- Subscriptions --------------------------------------------------------------------------

void ClusterClient::subscribe(const std::string& channel) {
  auto [it, inserted] = channels_.emplace(channel, Placement{});
  if (!inserted) return;
  NodePtr node = owner(key_slot(channel));
  if (!node || !node->up()) return;  // placed when the map is known and the node connected
  it->second.node = node;
  ssubscribe(node, {channel});
}

void ClusterClient::unsubscribe(const std::string& channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  NodePtr where = std::move(it->second.node);
  channels_.erase(it);
  if (where) sunsubscribe(where, channel);
}

bool ClusterClient::listening(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.confirmed && it->second.node && it->second.node->up();
}

// Every channel not subscribed where its slot lives is subscribed there, one SSUBSCRIBE per
// slot (a Cluster refuses channels of several slots in one).
void ClusterClient::resubscribe() {
  if (slots_.empty() || stopped_) return;
  std::map<std::pair<ClusterNode*, std::uint16_t>, std::vector<std::string>> batches;
  std::unordered_map<ClusterNode*, NodePtr> nodes;
  for (auto& [channel, where] : channels_) {
    const std::uint16_t slot = key_slot(channel);
    NodePtr node = owner(slot);
    if (where.node && where.node == node) continue;
    if (where.node) sunsubscribe(where.node, channel);  // it moved: not there any more
    where = {};
    if (!node || !node->up()) continue;
    where.node = node;
    nodes[node.get()] = node;
    batches[{node.get(), slot}].push_back(channel);
  }
  for (auto& [place, channels] : batches) {
    for (std::size_t first = 0; first < channels.size(); first += kSubscribeBatch) {
      const std::size_t last = std::min(channels.size(), first + kSubscribeBatch);
      ssubscribe(nodes[place.first],
                 std::vector<std::string>(channels.begin() + first, channels.begin() + last));
    }
  }
}

void ClusterClient::resubscribe_soon() {
  if (resubscribe_posted_) return;
  resubscribe_posted_ = true;
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  boost::asio::post(io_, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->resubscribe_posted_ = false;
    self->resubscribe();
  });
}

// After a refused SSUBSCRIBE: again later, backing off, so that nodes that disagree for a
// while (or an ACL that refuses the channel) do not make a loop of it.
void ClusterClient::resubscribe_later() {
  if (resubscribe_timer_set_) return;
  resubscribe_timer_set_ = true;
  resubscribe_timer_.expires_after(subscribe_backoff_);
  subscribe_backoff_ = std::min(subscribe_backoff_ * 2, options_.max_backoff);
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  resubscribe_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->resubscribe_timer_set_ = false;
    self->resubscribe();
  });
}

// Placed on `node` already (see Placement): the confirmation is matched to this SSUBSCRIBE.
void ClusterClient::ssubscribe(const NodePtr& node, std::vector<std::string> channels) {
  const std::uint64_t sent = ++subscribes_sent_;
  std::vector<std::string_view> args{"SSUBSCRIBE"};
  for (const auto& channel : channels) {
    args.push_back(channel);
    auto it = channels_.find(channel);
    if (it != channels_.end()) it->second = Placement{node, sent, false};
  }
  std::weak_ptr<ClusterClient> weak = weak_from_this();
  node->subscription_command(
      args, [weak, node, sent, channels = std::move(channels)](const Result& result) {
        if (auto self = weak.lock()) self->ssubscribed(node, channels, sent, result);
      });
}

void ClusterClient::ssubscribed(const NodePtr& node, const std::vector<std::string>& channels,
                                std::uint64_t sent, const Result& result) {
  // A connection that failed: node_down already made them wait for the next one.
  const auto* reply = std::get_if<Reply>(&result);
  if (!reply) return;
  const auto placed_by_this = [&](const std::string& channel) {
    auto it = channels_.find(channel);
    return it != channels_.end() && it->second.node == node && it->second.sent == sent ? &it->second
                                                                                       : nullptr;
  };
  if (!reply->is_error()) {
    subscribe_backoff_ = options_.first_backoff;
    for (const auto& channel : channels) {
      Placement* placement = placed_by_this(channel);
      if (!placement) continue;  // unsubscribed, or subscribed elsewhere since
      placement->confirmed = true;
      if (on_listening_) on_listening_(channel);
    }
    return;
  }
  for (const auto& channel : channels) {
    if (Placement* placement = placed_by_this(channel)) *placement = {};
  }
  if (auto redirect = parse_redirect(reply->text);
      redirect && redirect->kind == Redirect::Kind::Moved) {
    const std::string& host =
        redirect->host.empty() || redirect->host == "?" ? node->endpoint().host : redirect->host;
    assign(redirect->slot, node_at(host, redirect->port));
    refresh_map();
  }
  resubscribe_later();
}

void ClusterClient::sunsubscribe(const NodePtr& node, const std::string& channel) {
  if (!node->up()) return;  // a connection that went took its subscriptions with it
  const std::string_view args[] = {"SUNSUBSCRIBE", channel};
  node->subscription_command(args, [](const Result&) {});
}

// RESP3 pushes: ["smessage", channel, payload] for a subscribed channel, and
// ["sunsubscribe", channel, count] unasked when the node lost the channel's slot (a migration,
// a failover): subscribed again where the refreshed map says the slot went.
void ClusterClient::pushed(const NodePtr& node, const Reply& push) {
  if (push.elements.size() < 2 || !push.elements[0].is_string()) return;
  const std::string& kind = push.elements[0].text;
  const std::string& channel = push.elements[1].text;
  if (kind == "smessage" && push.elements.size() == 3 && push.elements[2].is_string()) {
    // A message for a channel just unsubscribed can still arrive; it is nobody's now.
    if (on_message_ && channels_.contains(channel)) on_message_(channel, push.elements[2].text);
    return;
  }
  if (kind != "sunsubscribe") return;
  auto it = channels_.find(channel);
  if (it == channels_.end() || it->second.node != node) return;  // our own SUNSUBSCRIBE
  it->second = {};
  refresh_map();
  resubscribe_soon();
}

}  // namespace greendot::redis
