#include "engine/redis/redis_engine.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "engine/redis/heartbeat_scripts.hpp"
#include "engine/redis/reply_fields.hpp"
#include "engine/redis/user_scripts.hpp"
#include "protocol/pusher_messages.hpp"

namespace greendot::engine::redis_engine {

namespace asio = boost::asio;
namespace pusher = protocol::pusher;
using redis::Reply;
using redis::Result;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kGraceCheck{50};
constexpr milliseconds kSweepInterval{1000};
// Heartbeat expiries are looked for more often: they are a page's TTL, not a crash.
constexpr milliseconds kHeartbeatSweepInterval{500};
// A node sweeping a dead one holds it this long; a sweep that stalls is taken over after it.
constexpr milliseconds kSweepClaim{5000};
constexpr int kNodesPerSweep = 4;
constexpr milliseconds kRetryGrace{500};
constexpr auto kUnreadyReport = std::chrono::seconds(5);

std::vector<std::string> user_ids(const Reply& list) {
  std::vector<std::string> ids;
  ids.reserve(list.elements.size());
  for (const auto& id : list.elements) ids.push_back(id.text);
  return ids;
}

MemberList member_list(const Reply& flat) {
  MemberList members;
  members.reserve(flat.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    members.emplace_back(flat.elements[i].text, flat.elements[i + 1].text);
  }
  return members;
}

}  // namespace

RedisEngine::RedisEngine(ClientFactory make_client, RedisEngineOptions options,
                         webhooks::WebhookSink& webhooks, std::vector<std::string> app_ids)
    : work_(asio::make_work_guard(io_)),
      make_client_(std::move(make_client)),
      options_(std::move(options)),
      keys_(options_.key_prefix),
      webhooks_(webhooks),
      app_ids_(std::move(app_ids)),
      lease_timer_(io_),
      sweep_timer_(io_),
      heartbeat_timer_(io_),
      grace_timer_(io_) {
  invisible_.resize(app_ids_.size());
  partitions_.resize(app_ids_.size());
  for (core::AppIndex app = 0; app < app_ids_.size(); ++app) {
    for (unsigned p = 0; p < RedisKeys::kHeartbeatPartitions; ++p) {
      partitions_[app][p].due = keys_.heartbeat_due(app_ids_[app], p);
      partitions_[app][p].claimed = keys_.heartbeat_claimed(app_ids_[app], p);
    }
  }
  new_identity();
}

RedisEngine::~RedisEngine() {
  stop();
}

void RedisEngine::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    halted_ = true;
    lease_timer_.cancel();
    sweep_timer_.cancel();
    heartbeat_timer_.cancel();
    grace_timer_.cancel();
    if (client_) client_->stop();
    work_.reset();
  });
  if (thread_.joinable()) thread_.join();
}

// Every script the engine runs, loaded by each connection as it is made.
std::vector<std::string> RedisEngine::script_texts() {
  std::vector<std::string> texts;
  for (const Script* script :
       {&join_script(), &leave_script(), &grace_end_script(), &sweep_channel_script(),
        &members_script(), &stats_script(), &register_node_script(), &refresh_node_script(),
        &claim_dead_nodes_script(), &heartbeat_script(), &heartbeat_end_script(),
        &visibility_script(), &user_status_script(), &user_membership_script(),
        &user_update_script(), &user_privacy_script()}) {
    texts.push_back(script->text);
  }
  return texts;
}

void RedisEngine::start() {
  client_ = make_client_(io_);
  client_->load_scripts_on_connect(script_texts());
  client_->on_message(
      [this](std::string_view channel, std::string_view payload) { on_message(channel, payload); });
  client_->on_up([this] { on_up(); });
  client_->on_down([this](const std::string& why) { on_down(why); });
  client_->on_listening([this](const std::string& channel) { on_listening(channel); });
  client_->subscribe(keys_.control());
  for (core::AppIndex app = 0; app < app_ids_.size(); ++app) {
    const std::string channel = keys_.app_privacy(app_ids_[app]);
    by_privacy_channel_[channel] = app;
    client_->subscribe(channel);
  }
  client_->start();
  every(grace_timer_, kGraceCheck, &RedisEngine::run_graces);
  // From the start, not from the first registration: a registration that fails while the
  // connection stays up is tried again by the next refresh.
  every(lease_timer_, options_.node_lease / 4, &RedisEngine::refresh_lease);
  thread_ = std::thread([this] { io_.run(); });
}

void RedisEngine::every(asio::steady_timer& timer, milliseconds interval,
                        void (RedisEngine::*step)()) {
  timer.expires_after(interval);
  timer.async_wait([this, &timer, interval, step](const boost::system::error_code& ec) {
    // A wait that had already ended when stop() cancelled it still runs: it must not arm the
    // timer again, or the engine's thread would never run out of work and stop.
    if (ec || halted_) return;
    (this->*step)();
    every(timer, interval, step);
  });
}

// ---- identity, lease and sweeping -------------------------------------------------------

void RedisEngine::new_identity() {
  static constexpr char kDigits[] = "0123456789abcdef";
  node_.clear();
  for (int i = 0; i < 16; ++i) node_.push_back(kDigits[random_() % 16]);
  node_registered_ = false;
  // The old identity's sessions are swept with it: nothing of it is to be retried.
  for (const auto& leave : leaves_to_retry_) {
    if (auto it = channels_.find(leave.tag); it != channels_.end()) --it->second.in_flight;
  }
  leaves_to_retry_.clear();
  for (auto& [tag, channel] : channels_) {
    channel.keys = keys_.channel_of_tag(tag, node_);
    channel.registered = false;
  }
}

std::string RedisEngine::epoch_candidate() {
  std::string epoch = node_;
  epoch.push_back('.');
  epoch.append(std::to_string(++epochs_made_));
  return epoch;
}

void RedisEngine::on_up() {
  reconnected_ = true;
  recent_expiries_.forget_all();  // what the outage lost is written again by the next pings
  if (!node_registered_) return register_node();
  refresh_lease();
}

EngineCounters RedisEngine::counters() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  return EngineCounters{store_disconnections_.load(relaxed), messages_not_shared_.load(relaxed),
                        leases_lost_.load(relaxed), nodes_swept_.load(relaxed),
                        subscriptions_unconfirmed_.load(relaxed)};
}

void RedisEngine::on_down(const std::string& why) {
  ready_.store(false, std::memory_order_relaxed);
  store_disconnections_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn(
      "Redis is out of reach ({}): local clients are still served; joins are refused "
      "until it is back",
      why);
}

void RedisEngine::register_node() {
  const std::string lease = std::to_string(options_.node_lease.count());
  if (registering_) return;
  registering_ = true;
  run_script(register_node_script(), {keys_.live_nodes(), keys_.sweeping_nodes()}, {node_, lease},
             [this](Result result) {
               registering_ = false;
               if (!reply_of(result)) {
                 spdlog::warn("cannot register this node in Redis: {}", why(result));
                 return;  // tried again at the next lease refresh (its timer runs from start)
               }
               const bool first = !sweeping_started_;
               sweeping_started_ = true;
               node_registered_ = true;
               reconnected_ = false;
               ready_.store(true, std::memory_order_relaxed);
               spdlog::info("node {} registered in Redis (lease {} ms)", node_,
                            options_.node_lease.count());
               load_invisible();  // subscribed already: a change from here on is told
               reassert();
               if (first) {
                 every(sweep_timer_, kSweepInterval, &RedisEngine::sweep);
                 every(heartbeat_timer_, kHeartbeatSweepInterval, &RedisEngine::sweep_heartbeats);
               }
             });
}

void RedisEngine::refresh_lease() {
  if (!client_->up() || stopping_) return;
  if (!node_registered_) return register_node();
  const std::string lease = std::to_string(options_.node_lease.count());
  const std::string node = node_;
  run_script(refresh_node_script(), {keys_.live_nodes(), keys_.sweeping_nodes()}, {node_, lease},
             [this, node](Result result) {
               const Reply* reply = reply_of(result);
               if (!reply || node != node_) return;
               if (reply->integer == 1) {
                 ready_.store(true, std::memory_order_relaxed);
                 retry_memberships();
                 retry_statuses();
                 retry_visibilities();
                 if (!reconnected_ && !reassert_pending_) return retry_leaves();
                 // Back after an outage with the lease intact: what failed meanwhile is done
                 // now, and copies that may have missed events are read again.
                 if (reconnected_) spdlog::info("Redis is back; node {} kept its lease", node_);
                 reconnected_ = false;
                 return reassert();
               }
               // Swept (cut off longer than the lease) or forgotten (Redis lost its data):
               // whatever this node had in Redis is gone or being removed by another node.
               spdlog::warn(
                   "node {} lost its lease in Redis; re-asserting its sessions as a "
                   "new node",
                   node_);
               leases_lost_.fetch_add(1, std::memory_order_relaxed);
               new_identity();
               register_node();
             });
}

// Everything this node holds, written again under its identity: idempotent, so it is also
// what a reconnect after a short outage does. Copies are then corrected by version.
void RedisEngine::reassert() {
  reassert_pending_ = false;
  retry_leaves();
  reassert_statuses();
  // By tag, found again each time: a command failing at once may forget an idle channel.
  for (const auto& tag : tags()) {
    LocalChannel* channel = find(tag);
    if (!channel) continue;
    auto sessions = channel->sessions;
    for (auto& [session, joined] : sessions) {
      if (LocalChannel* still = find(tag)) {
        begin_session(*still, session, std::move(joined.user), std::move(joined.info), 0, {},
                      nullptr);
      }
    }
    if (LocalChannel* still = find(tag); still && still->copy_wanted) read_members(*still);
  }
}

std::vector<std::string> RedisEngine::tags() const {
  std::vector<std::string> out;
  out.reserve(channels_.size());
  for (const auto& [tag, channel] : channels_) out.push_back(tag);
  return out;
}

void RedisEngine::sweep() {
  if (!client_->up() || stopping_) return;
  run_script(claim_dead_nodes_script(), {keys_.live_nodes(), keys_.sweeping_nodes()},
             {std::to_string(kSweepClaim.count()), std::to_string(kNodesPerSweep)},
             [this](Result result) {
               const Reply* reply = reply_of(result);
               if (!reply) return;
               for (const auto& dead : reply->elements) {
                 if (dead.is_string() && dead.text != node_) sweep_node(dead.text);
               }
             });
}

void RedisEngine::sweep_node(const std::string& node) {
  const std::string list = keys_.node_channels(node);
  const std::string_view args[] = {"SMEMBERS", list};
  client_->command(list, args, [this, node, list](Result result) {
    const Reply* reply = reply_of(result);
    if (!reply) return;
    spdlog::info("sweeping node {}: its lease ended ({} channels)", node, reply->elements.size());
    nodes_swept_.fetch_add(1, std::memory_order_relaxed);
    auto left = std::make_shared<std::size_t>(reply->elements.size() + 1);
    auto all_ok = std::make_shared<bool>(true);
    auto finished = [this, node, list, left, all_ok](bool ok) {
      *all_ok = *all_ok && ok;
      if (--*left != 0 || !*all_ok) return;  // a failed sweep is taken over after its claim
      const std::string_view del[] = {"DEL", list};
      client_->command(list, del, [](Result) {});
      const std::string sweeping = keys_.sweeping_nodes();
      const std::string_view zrem[] = {"ZREM", sweeping, node};
      client_->command(sweeping, zrem, [](Result) {});
    };
    for (const auto& tag : reply->elements) sweep_channel(tag.text, node, finished);
    finished(true);
  });
}

void RedisEngine::sweep_channel(const std::string& tag, const std::string& node,
                                std::function<void(bool)> done) {
  std::string_view app_id, name;
  if (!split_tag(tag, app_id, name)) return done(true);  // not ours to read
  const auto app = app_index(app_id);
  ChannelKeys keys = keys_.channel_of_tag(tag, node);
  const std::string channel(name);
  run_script(sweep_channel_script(), {keys.keys.begin(), keys.keys.end()},
             {std::string(publish_command()), keys.events, epoch_candidate(), node},
             [this, app, channel, tag, node, done = std::move(done)](Result result) {
               const Reply* reply = reply_of(result);
               if (!reply) return done(false);
               if (app && reply->elements.size() == 4) {
                 const Reply& removed = reply->elements[2];
                 for (std::size_t i = 0; i + 3 < removed.elements.size(); i += 4) {
                   const std::string& user = removed.elements[i].text;
                   member_webhook(*app, webhooks::EventType::MemberRemoved, channel, user);
                   membership_changed(
                       MembershipChange{*app, user, tag, text_at(removed, i + 1),
                                        static_cast<std::uint64_t>(integer_at(removed, i + 2)),
                                        false, integer_at(removed, i + 3)});
                 }
                 // The swept node's part in its users' status goes with it (this node's own
                 // too, when it is shutting down).
                 for (const auto& user : reply->elements[3].elements) {
                   write_status(*app, user.text, node_status_field(node), 0, 0);
                 }
                 if (integer_at(*reply, 1) == 1) occupancy_changed(*app, channel, false);
               }
               done(true);
             });
}

// ---- sessions ---------------------------------------------------------------------------

RedisEngine::LocalChannel& RedisEngine::local(core::AppIndex app, std::string_view channel) {
  ChannelKeys keys = keys_.channel(app_ids_[app], channel, node_);
  auto [it, added] = channels_.try_emplace(keys.tag);
  LocalChannel& local = it->second;
  if (added) {
    local.app = app;
    local.name = std::string(channel);
    local.keys = std::move(keys);
    by_events_[local.keys.events] = it->first;
    if (!internal_channel(channel)) client_->subscribe(local.keys.events);
  }
  return local;
}

RedisEngine::LocalChannel* RedisEngine::find(const std::string& tag) {
  auto it = channels_.find(tag);
  return it == channels_.end() ? nullptr : &it->second;
}

// A channel this node has nothing in any more: its events are not this node's business, and
// a sweep of this node would find nothing there.
void RedisEngine::forget_if_idle(LocalChannel& channel) {
  if (!channel.sessions.empty() || channel.in_flight != 0 || !channel.waiting.empty()) return;
  // Subscribers that left before they were answered: theirs is a call the session ignores.
  for (auto& [since, in_place] : channel.unconfirmed) in_place();
  if (!internal_channel(channel.name)) client_->unsubscribe(channel.keys.events);
  if (channel.registered) {
    const std::string list = keys_.node_channels(node_);
    const std::string_view args[] = {"SREM", list, channel.keys.tag};
    client_->command(list, args, [](Result) {});
  }
  by_events_.erase(channel.keys.events);
  channels_.erase(channel.keys.tag);
}

// A node's channel list holds every channel it may have sessions in, written before the first
// session: whoever sweeps the node finds them all.
void RedisEngine::registered_then(LocalChannel& channel, std::function<void(bool)> next) {
  if (channel.registered) return next(true);
  if (channel.registering && channel.registering->node == node_) {
    channel.registering->waiting.push_back(std::move(next));
    return;
  }
  auto registration = std::make_shared<LocalChannel::Registration>();
  registration->node = node_;
  registration->waiting.push_back(std::move(next));
  channel.registering = registration;
  const std::string list = keys_.node_channels(node_);
  const std::string_view args[] = {"SADD", list, channel.keys.tag};
  const std::string tag = channel.keys.tag;
  // Each waiter holds the channel (in_flight), so it is still there when they run.
  client_->command(list, args, [this, tag, registration](Result result) {
    LocalChannel* channel = find(tag);
    const bool ok = reply_of(result) && registration->node == node_;
    if (channel && channel->registering == registration) channel->registering.reset();
    if (channel && ok) channel->registered = true;
    for (auto& next : registration->waiting) next(ok);
  });
}

void RedisEngine::begin_session(LocalChannel& channel, core::SessionId session, std::string user,
                                std::string user_info, std::size_t max_members, std::string except,
                                JoinCallback done) {
  const std::string tag = channel.keys.tag;
  drop_leaves_to_retry(channel, session);
  ++channel.in_flight;
  const std::uint64_t step = channel.latest_step[session] = ++channel.steps;
  const bool member = !user.empty();
  const bool copied = member && !internal_channel(channel.name);
  // The first joiner of a channel on this node reads the member list with its join.
  const bool want_list = copied && !channel.copy.loaded() && !channel.loading;
  if (want_list) channel.loading = true;
  if (copied) channel.copy_wanted = true;
  registered_then(channel, [this, tag, session, step, user = std::move(user),
                            user_info = std::move(user_info), max_members,
                            except = std::move(except), want_list,
                            done = std::move(done)](bool registered) mutable {
    LocalChannel* channel = find(tag);
    if (!channel) return;
    if (!registered) {
      --channel->in_flight;
      answered_step(*channel, session, step);
      if (want_list) channel->loading = false;
      if (done) {
        done(JoinOutcome{JoinStatus::Unavailable, {}, 0});
      } else {
        reassert_pending_ = true;  // a session this node has: written at the next chance
      }
      return forget_if_idle(*channel);
    }
    std::vector<std::string> keys(channel->keys.keys.begin(), channel->keys.keys.end());
    std::vector<std::string> args{node_,
                                  std::to_string(session),
                                  user,
                                  std::move(user_info),
                                  std::to_string(max_members),
                                  want_list ? "1" : "0",
                                  except.empty() ? "-" : except,
                                  std::string(publish_command()),
                                  channel->keys.events,
                                  epoch_candidate()};
    std::string info = args[3];
    const bool hide = !user.empty() && invisible(channel->app, user);
    args.push_back(hide ? "1" : "0");
    run_script(
        join_script(), std::move(keys), std::move(args),
        [this, tag, session, step, user, info = std::move(info), want_list, hide,
         done = std::move(done)](Result result) {
          LocalChannel* channel = find(tag);
          if (!channel) return;
          --channel->in_flight;
          if (want_list) channel->loading = false;
          const bool latest = answered_step(*channel, session, step);
          const Reply* reply = reply_of(result);
          if (!reply || text_at(*reply, 0) == "full" || text_at(*reply, 0) != "ok") {
            const bool full = reply && text_at(*reply, 0) == "full";
            if (!reply && !done) {
              // A session this node has (re-asserted, or a subscription that needs no answer):
              // written again at the next chance, never given up.
              spdlog::debug("session in {} not written: {}", channel->name, why(result));
              if (latest) reassert_pending_ = true;
              return forget_if_idle(*channel);
            }
            if (!reply && latest) {
              spdlog::debug("join in {} not made: {}", channel->name, why(result));
              // Refused to the client, yet it may have been made all the same (a reply lost
              // with its connection): ended for certain when Redis can be reached.
              leaves_to_retry_.push_back(LeaveToRetry{tag, session, 0});
              ++channel->in_flight;
            }
            if (done)
              done(JoinOutcome{full ? JoinStatus::ChannelFull : JoinStatus::Unavailable, {}, 0});
            return forget_if_idle(*channel);
          }
          if (latest) {
            auto& held = channel->sessions.try_emplace(session, user, info).first->second;
            if (!user.empty() && !held.in_status) {
              held.in_status = true;
              local_session_added(channel->app, user, session);
            }
          }
          if (integer_at(*reply, 2) == 1) {
            occupancy_changed(channel->app, channel->name, true);
          }
          const std::string epoch = text_at(*reply, 3);
          const auto version = static_cast<std::uint64_t>(integer_at(*reply, 4));
          if (integer_at(*reply, 1) == 1) {
            member_webhook(channel->app, webhooks::EventType::MemberAdded, channel->name, user);
            membership_changed(
                MembershipChange{channel->app, user, tag, epoch, version, true, 0, hide});
          }
          if (want_list && reply->elements.size() > 5) {
            channel->copy.load(epoch, version, member_list(reply->elements[5]), false,
                               user_ids(reply->elements.size() > 6 ? reply->elements[6] : Reply{}),
                               channel->joins);
            auto held = std::move(channel->held);
            channel->held.clear();
            for (auto& event : held) on_event(*channel, std::move(event));
          }
          if (!done) return;
          if (user.empty()) return done(JoinOutcome{JoinStatus::Joined, {}, 0});
          WaitingJoin waiting{epoch, version, Clock::now(), std::move(done), std::nullopt};
          if (hide) waiting.self.emplace(user, info);
          answer_when_current(*channel, std::move(waiting));
        });
  });
}

namespace {

// The copy as the joiner is to see it: an invisible joiner is in no one's list but their own.
std::string presence_for(MemberCopy& copy,
                         const std::optional<std::pair<std::string, std::string>>& self) {
  return self ? copy.presence_data_with(self->first, self->second) : copy.presence_data();
}

}  // namespace

bool RedisEngine::listening(const LocalChannel& channel) const {
  return channel.listen_overdue || !ready() || internal_channel(channel.name) ||
         client_->listening(channel.keys.events);
}

void RedisEngine::when_listening(LocalChannel& channel, std::function<void()> in_place) {
  if (listening(channel)) return in_place();
  channel.unconfirmed.emplace_back(Clock::now(), std::move(in_place));
}

void RedisEngine::on_listening(const std::string& pubsub_channel) {
  if (watched_.contains(pubsub_channel)) return read_watches();  // a watched user's events
  auto it = by_events_.find(pubsub_channel);
  if (it == by_events_.end()) return;
  LocalChannel* channel = find(it->second);
  if (!channel) return;
  channel->listen_overdue = false;
  answer_listeners(*channel, Clock::now());
}

void RedisEngine::answer_listeners(LocalChannel& channel, Clock::time_point now) {
  if (channel.unconfirmed.empty() && channel.waiting.empty()) return;
  if (!listening(channel)) {
    // Never refused for it: a subscription Redis does not confirm (an ACL that refuses the
    // channel, a slot moving for long) costs the other nodes' messages, not the channel.
    auto oldest = now;
    if (!channel.unconfirmed.empty()) oldest = std::min(oldest, channel.unconfirmed.front().first);
    if (!channel.waiting.empty()) oldest = std::min(oldest, channel.waiting.front().since);
    if (now - oldest <= options_.copy_wait) return;
    spdlog::warn(
        "Redis has not confirmed this node's subscription to {}'s messages after {} ms: its "
        "subscribers are answered, and miss what other nodes publish there until it does",
        channel.name, options_.copy_wait.count());
    channel.listen_overdue = true;
    subscriptions_unconfirmed_.fetch_add(1, std::memory_order_relaxed);
  }
  auto told = std::move(channel.unconfirmed);
  channel.unconfirmed.clear();
  for (auto& [since, in_place] : told) in_place();
  answer_waiting(channel);
}

void RedisEngine::answer_when_current(LocalChannel& channel, WaitingJoin waiting) {
  if (listening(channel) && channel.copy.includes(waiting.epoch, waiting.version)) {
    return waiting.done(
        JoinOutcome{JoinStatus::Joined, presence_for(channel.copy, waiting.self), ++channel.joins});
  }
  channel.waiting.push_back(std::move(waiting));
}

void RedisEngine::answer_waiting(LocalChannel& channel) {
  if (!listening(channel)) return;  // answer_listeners comes back to them
  auto& waiting = channel.waiting;
  for (auto it = waiting.begin(); it != waiting.end();) {
    if (!channel.copy.includes(it->epoch, it->version)) {
      ++it;
      continue;
    }
    it->done(
        JoinOutcome{JoinStatus::Joined, presence_for(channel.copy, it->self), ++channel.joins});
    it = waiting.erase(it);
  }
}

void RedisEngine::end_session(const std::string& tag, core::SessionId session,
                              core::Millis grace_ms) {
  LocalChannel* channel = find(tag);
  if (!channel) return;
  std::string held;  // the user whose part in the status waits for this leave's answer
  if (auto it = channel->sessions.find(session); it != channel->sessions.end()) {
    if (it->second.in_status) held = local_session_ended(channel->app, it->second.user, session);
    channel->sessions.erase(it);
  }
  ++channel->in_flight;
  const std::uint64_t step = channel->latest_step[session] = ++channel->steps;
  // Behind the session's own join, which may still wait for the channel's registration: a
  // leave that overtook it would find nothing to end, and the join would then stay for good.
  registered_then(*channel, [this, tag, session, grace_ms, step, held](bool registered) {
    if (registered) return send_leave(tag, session, grace_ms, step, kAttempts, held);
    release_status(held);
    if (LocalChannel* channel = find(tag)) leave_not_sent(*channel, session, grace_ms, step, true);
  });
}

void RedisEngine::leave_not_sent(LocalChannel& channel, core::SessionId session,
                                 core::Millis grace_ms, std::uint64_t step, bool retry) {
  // Retried later, unless a later join or leave of the session stands for it (a join writes
  // the session again; a leave retried after it would end it).
  if (answered_step(channel, session, step) && retry) {
    return leaves_to_retry_.push_back(LeaveToRetry{channel.keys.tag, session, grace_ms});
  }
  --channel.in_flight;  // held for the leave
  forget_if_idle(channel);
}

void RedisEngine::held_unwritten(LocalChannel& channel, core::SessionId session) {
  drop_leaves_to_retry(channel, session);
  channel.latest_step[session] = ++channel.steps;  // answered by the re-assertion's join
}

bool RedisEngine::latest(const LocalChannel& channel, core::SessionId session, std::uint64_t step) {
  auto it = channel.latest_step.find(session);
  return it != channel.latest_step.end() && it->second == step;
}

bool RedisEngine::answered_step(LocalChannel& channel, core::SessionId session,
                                std::uint64_t step) {
  if (!latest(channel, session, step)) return false;
  channel.latest_step.erase(session);
  return true;
}

void RedisEngine::send_leave(const std::string& tag, core::SessionId session, core::Millis grace_ms,
                             std::uint64_t step, int attempts, std::string held) {
  LocalChannel* channel = find(tag);
  if (!channel) return release_status(held);
  std::vector<std::string> keys(channel->keys.keys.begin(), channel->keys.keys.end());
  std::vector<std::string> args{node_,
                                std::to_string(session),
                                std::to_string(grace_ms),
                                std::string(publish_command()),
                                channel->keys.events,
                                epoch_candidate()};
  const std::string node = node_;
  run_script(
      leave_script(), std::move(keys), std::move(args),
      [this, tag, session, grace_ms, step, node, attempts, held](Result result) {
        LocalChannel* channel = find(tag);
        if (!channel) return release_status(held);
        const Reply* reply = reply_of(result);
        if (!reply) {
          // Ended here; Redis is told at once while connected (a leave sent twice ends
          // nothing more), else when it can be reached again (or the session goes with this
          // node's identity, swept by the others).
          // Not again when a later join or leave of the session was sent (leave_not_sent).
          if (latest(*channel, session, step) && node == node_ && retry_at_once(attempts)) {
            return send_leave(tag, session, grace_ms, step, attempts - 1, held);
          }
          release_status(held);
          return leave_not_sent(*channel, session, grace_ms, step, node == node_);
        }
        --channel->in_flight;
        answered_step(*channel, session, step);
        if (text_at(*reply, 0) == "ok") {
          const std::string& user = text_at(*reply, 3);
          if (integer_at(*reply, 1) == 1) {
            member_webhook(channel->app, webhooks::EventType::MemberRemoved, channel->name, user);
            // Carries this node's part in the user's status (the second step of the leave).
            membership_changed(MembershipChange{channel->app, user, tag, text_at(*reply, 6),
                                                static_cast<std::uint64_t>(integer_at(*reply, 7)),
                                                false, integer_at(*reply, 8)});
          }
          if (integer_at(*reply, 2) == 1) {
            occupancy_changed(channel->app, channel->name, false);
          }
          if (integer_at(*reply, 4) > 0) {
            schedule_grace(GraceTimer{tag, user}, milliseconds(grace_ms));
          }
          if (integer_at(*reply, 5) > 0) {
            schedule_grace(GraceTimer{tag, {}}, milliseconds(grace_ms));
          }
        }
        release_status(held);  // written now, alone, unless the membership step took it
        forget_if_idle(*channel);
      });
}

// A join of a session whose leave is still to be retried (its first join was refused, and may
// have been made all the same) supersedes that leave: the join writes the session again, and
// the old leave, sent later, would end the new one.
void RedisEngine::drop_leaves_to_retry(LocalChannel& channel, core::SessionId session) {
  std::erase_if(leaves_to_retry_, [&](const LeaveToRetry& leave) {
    if (leave.tag != channel.keys.tag || leave.session != session) return false;
    --channel.in_flight;
    return true;
  });
}

void RedisEngine::retry_leaves() {
  auto leaves = std::move(leaves_to_retry_);
  leaves_to_retry_.clear();
  for (auto& leave : leaves) {
    LocalChannel* channel = find(leave.tag);
    if (!channel) continue;
    --channel->in_flight;  // held for the retry; end_session holds it again
    const auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - leave.left_at);
    end_session(
        leave.tag, leave.session,
        leave.grace_ms > 0 ? std::max<core::Millis>(1, leave.grace_ms - waited.count()) : 0);
  }
}

void RedisEngine::schedule_grace(GraceTimer grace, milliseconds after) {
  if (LocalChannel* channel = find(grace.tag)) ++channel->in_flight;
  graces_.emplace(Clock::now() + after, std::move(grace));
}

void RedisEngine::run_graces() {
  const auto now = Clock::now();
  if (!ready() && !stopping_ && now - last_unready_report_ > kUnreadyReport) {
    last_unready_report_ = now;
    spdlog::warn(
        "waiting for Redis: {}; joins are refused (retryable) and /ready says 503 until "
        "it answers",
        client_->up() ? "connected, registering this node" : "no connection yet, retrying");
  }
  read_watches();
  while (!graces_.empty() && graces_.begin()->first <= now) {
    GraceTimer grace = std::move(graces_.begin()->second);
    graces_.erase(graces_.begin());
    end_grace(grace);
  }
  for (const auto& tag : tags()) {
    LocalChannel* channel = find(tag);
    if (!channel) continue;
    answer_listeners(*channel, now);
    if (channel->loading) continue;
    // A copy that did not catch up with a join in time is read again.
    const bool late =
        !channel->waiting.empty() && now - channel->waiting.front().since > options_.copy_wait;
    const bool settled = channel->settle_at && *channel->settle_at <= now;
    if (settled) channel->settle_at.reset();  // this reading tells who is really gone
    if (late || settled) read_members(*channel);
  }
}

void RedisEngine::end_grace(const GraceTimer& grace) {
  LocalChannel* channel = find(grace.tag);
  if (!channel) return;
  std::vector<std::string> keys(channel->keys.keys.begin(), channel->keys.keys.end());
  std::vector<std::string> args{node_, grace.user, std::string(publish_command()),
                                channel->keys.events, epoch_candidate()};
  run_script(grace_end_script(), std::move(keys), std::move(args), [this, grace](Result result) {
    LocalChannel* channel = find(grace.tag);
    if (!channel) return;
    --channel->in_flight;
    const Reply* reply = reply_of(result);
    if (!reply) {
      schedule_grace(grace, kRetryGrace);
      return;
    }
    if (text_at(*reply, 0) == "wait") {
      schedule_grace(grace, milliseconds(std::max<std::int64_t>(1, integer_at(*reply, 1))));
      return;
    }
    if (integer_at(*reply, 1) == 1) {
      member_webhook(channel->app, webhooks::EventType::MemberRemoved, channel->name, grace.user);
      membership_changed(MembershipChange{channel->app, grace.user, grace.tag, text_at(*reply, 3),
                                          static_cast<std::uint64_t>(integer_at(*reply, 4)), false,
                                          integer_at(*reply, 5)});
    }
    if (integer_at(*reply, 2) == 1) {
      occupancy_changed(channel->app, channel->name, false);
    }
    forget_if_idle(*channel);
  });
}

// ---- the copies and what arrives from Redis --------------------------------------------

void RedisEngine::read_members(LocalChannel& channel) {
  if (channel.loading) return;
  channel.loading = true;
  ++channel.in_flight;
  const std::string tag = channel.keys.tag;
  run_script(
      members_script(),
      {channel.keys.keys[0], channel.keys.keys[3], channel.keys.keys[8], channel.keys.keys[2]}, {},
      [this, tag](Result result) {
        LocalChannel* channel = find(tag);
        if (!channel) return;
        --channel->in_flight;
        channel->loading = false;
        const Reply* reply = reply_of(result);
        if (!reply || reply->elements.size() != 4) return forget_if_idle(*channel);
        const std::string& epoch = text_at(*reply, 0);
        const bool new_epoch = channel->copy.loaded() && channel->copy.epoch() != epoch;
        if (new_epoch) {
          channel->settle_at = Clock::now() + options_.node_lease + options_.reconnect_max;
        }
        // Until the list has settled, every reading of it keeps the missing members.
        const bool settling = channel->settle_at.has_value();
        auto differences =
            channel->copy.load(epoch, static_cast<std::uint64_t>(integer_at(*reply, 1)),
                               member_list(reply->elements[2]), settling,
                               user_ids(reply->elements[3]), channel->joins);
        // What the local subscribers missed, told as if it had just happened.
        for (const auto& user : differences.removed) {
          tell_local(channel->app, channel->name, pusher::member_removed(channel->name, user), {});
        }
        for (const auto& [user, info] : differences.added) {
          tell_local(channel->app, channel->name, pusher::member_added(channel->name, user, info),
                     {});
        }
        auto held = std::move(channel->held);
        channel->held.clear();
        for (auto& event : held) on_event(*channel, std::move(event));
        answer_waiting(*channel);
        forget_if_idle(*channel);
      });
}

void RedisEngine::on_event(LocalChannel& channel, ChannelEvent event) {
  if (channel.loading || !channel.copy.loaded()) {
    if (channel.copy_wanted) channel.held.push_back(std::move(event));
    return;
  }
  // Those who saw a member before their grace began are not told of the return.
  const std::uint64_t seen_by = event.kind == ChannelEvent::Kind::MemberBack
                                    ? channel.copy.seen_by(event.user).value_or(0)
                                    : 0;
  switch (channel.copy.apply(event, channel.joins)) {
    case MemberCopy::Applied::Changed:
      switch (event.kind) {
        case ChannelEvent::Kind::MemberInGrace:  // still a member for those who saw them
          break;
        case ChannelEvent::Kind::MemberBack:
          tell_local(channel.app, channel.name,
                     pusher::member_added(channel.name, event.user, event.body), {}, {}, seen_by);
          break;
        case ChannelEvent::Kind::MemberAdded:
          tell_local(channel.app, channel.name,
                     pusher::member_added(channel.name, event.user, event.body), event.except);
          break;
        case ChannelEvent::Kind::MemberShown:  // the user's own pages saw no change
          tell_local(channel.app, channel.name,
                     pusher::member_added(channel.name, event.user, event.body), {}, event.user);
          break;
        case ChannelEvent::Kind::MemberHidden:
          tell_local(channel.app, channel.name, pusher::member_removed(channel.name, event.user),
                     {}, event.user);
          break;
        default:
          tell_local(channel.app, channel.name, pusher::member_removed(channel.name, event.user),
                     {});
      }
      answer_waiting(channel);
      break;
    case MemberCopy::Applied::Unchanged:
      answer_waiting(channel);
      break;
    case MemberCopy::Applied::Gap:
      channel.held.push_back(std::move(event));
      read_members(channel);
      break;
  }
}

void RedisEngine::tell_local(core::AppIndex app, const std::string& channel, std::string text,
                             std::string except, std::string except_user,
                             std::uint64_t joined_after) {
  ChannelMessage message{app, channel, make_text_frame(text),
                         protocol::SocketId::parse(except).value_or(protocol::SocketId{}),
                         std::move(except_user)};
  message.joined_after = joined_after;  // only to those who joined since (0: to everyone)
  auto shared = std::make_shared<const ChannelMessage>(std::move(message));
  for (MessageSink* sink : sinks_) sink->deliver(shared);
}

void RedisEngine::on_message(std::string_view pubsub_channel, std::string_view payload) {
  if (pubsub_channel == keys_.control()) {
    auto control = parse_control_message(payload);
    if (!control || control->origin == node_ || !terminate_) return;
    if (auto app = app_index(control->app_id)) terminate_(*app, control->user);
    return;
  }
  const std::string name(pubsub_channel);
  if (auto watched = watched_.find(name); watched != watched_.end()) {
    return on_user_event(watched->second, payload);
  }
  if (auto privacy = by_privacy_channel_.find(name); privacy != by_privacy_channel_.end()) {
    return on_privacy_message(privacy->second, payload);
  }
  auto tag = by_events_.find(name);
  if (tag == by_events_.end()) return;
  LocalChannel* channel = find(tag->second);
  auto event = parse_channel_event(payload);
  if (!channel || !event) return;
  if (event->kind != ChannelEvent::Kind::Message) return on_event(*channel, std::move(*event));
  if (event->origin == node_) return;  // delivered locally when published
  ChannelMessage message{channel->app, channel->name, make_text_frame(event->body),
                         protocol::SocketId::parse(event->except).value_or(protocol::SocketId{}),
                         std::move(event->user)};
  message.joined_after = event->joined_after;
  auto shared = std::make_shared<const ChannelMessage>(std::move(message));
  for (MessageSink* sink : sinks_) sink->deliver(shared);
}

// ---- webhooks -----------------------------------------------------------------------------

// The node whose script made the transition tells the application: each webhook once.
void RedisEngine::occupancy_changed(core::AppIndex app, const std::string& channel, bool occupied) {
  if (internal_channel(channel)) return;
  const std::string list = keys_.app_channels(app_ids_[app]);
  const std::string_view args[] = {occupied ? "SADD" : "SREM", list, channel};
  client_->command(list, args, [](Result) {});
  const auto type =
      occupied ? webhooks::EventType::ChannelOccupied : webhooks::EventType::ChannelVacated;
  webhooks::emit_channel_event(webhooks_, app, type, channel);
}

void RedisEngine::member_webhook(core::AppIndex app, webhooks::EventType type,
                                 const std::string& channel, const std::string& user) {
  if (!internal_channel(channel)) webhooks::emit_member_event(webhooks_, app, type, channel, user);
}

// ---- helpers ------------------------------------------------------------------------------

void RedisEngine::run_script(const Script& script, std::vector<std::string> keys,
                             std::vector<std::string> args, redis::ReplyHandler done) {
  const std::string route = keys.front();
  auto argv = std::make_shared<std::vector<std::string>>();
  argv->reserve(3 + keys.size() + args.size());
  argv->push_back("EVALSHA");
  argv->push_back(script.sha1);
  argv->push_back(std::to_string(keys.size()));
  for (auto& key : keys) argv->push_back(std::move(key));
  for (auto& arg : args) argv->push_back(std::move(arg));
  auto send = [this, argv, route](redis::ReplyHandler handler) {
    std::vector<std::string_view> views(argv->begin(), argv->end());
    client_->command(route, views, std::move(handler));
  };
  send([this, &script, argv, send, done = std::move(done)](Result result) mutable {
    const auto* reply = std::get_if<Reply>(&result);
    if (reply && reply->is_error() && reply->text.starts_with("NOSCRIPT")) {
      // Redis does not know the script (restarted, or flushed): sent whole, which caches it.
      (*argv)[0] = "EVAL";
      (*argv)[1] = script.text;
      return send(std::move(done));
    }
    if (reply && reply->is_error()) {
      spdlog::error("Redis script {} failed: {}", script.name, reply->text);
    }
    done(std::move(result));
  });
}

std::string_view RedisEngine::publish_command() const {
  return client_->cluster() ? "SPUBLISH" : "PUBLISH";
}

std::optional<core::AppIndex> RedisEngine::app_index(std::string_view app_id) const {
  for (std::size_t i = 0; i < app_ids_.size(); ++i) {
    if (app_ids_[i] == app_id) return static_cast<core::AppIndex>(i);
  }
  return std::nullopt;
}

}  // namespace greendot::engine::redis_engine
