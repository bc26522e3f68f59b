// The Redis engine: presence shared by every greendot node of a deployment through one Redis
// server or a Redis Cluster. Redis holds the truth (members, sessions, graces, subscriptions,
// node leases), changed only by scripts that decide and publish in one step; each node keeps a
// copy of the member list of every channel it has subscribers in, current from the channel's
// events and versions, and answers its joiners from that copy.
//
// It is the broker too: a message published on one node is delivered to the local
// subscribers at once and to the other nodes through the channel's pub/sub channel, which a
// node subscribes to only while it has subscribers in the channel.
//
// No ghosts: every session in Redis belongs to a node under a lease the node refreshes; a node
// that stops refreshing (killed, cut off) has its sessions removed by whichever node sweeps
// first, within the lease. A node that finds it lost its lease (Redis restarted without its
// data, or it was cut off longer than the lease) takes a new identity and re-asserts its
// sessions; its copies are corrected from the channels' versions.
//
// Threads: every call is posted to the engine's own thread, where Redis is talked to; answers
// are called there (post them back, as with every engine).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/broker.hpp"
#include "engine/presence_engine.hpp"
#include "engine/redis/invisible_users.hpp"
#include "engine/redis/member_copy.hpp"
#include "engine/redis/recent_expiries.hpp"
#include "engine/redis/redis_keys.hpp"
#include "engine/redis/redis_scripts.hpp"
#include "redis/redis_client.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::engine::redis_engine {

struct RedisEngineOptions {
  std::string key_prefix = "greendot:";
  // A node that has not refreshed its lease for this long is swept: the bound on how long a
  // dead node's members can be seen.
  std::chrono::milliseconds node_lease{10000};
  // A joiner waits this long for its node's copy to catch up with its join, then the list is
  // read from Redis.
  std::chrono::milliseconds copy_wait{1000};
  // The longest a node waits between attempts to reconnect (the client's backoff): after
  // Redis lost its data, a member is taken as gone only when its node has had a lease's time
  // past its last reconnection attempt to write its sessions back.
  std::chrono::milliseconds reconnect_max{5000};
};

class RedisEngine final : public PresenceEngine, public Broker {
 public:
  using Terminate = std::function<void(core::AppIndex, const std::string& user)>;
  using ClientFactory =
      std::function<std::shared_ptr<redis::RedisClient>(boost::asio::io_context&)>;

  RedisEngine(ClientFactory make_client, RedisEngineOptions options,
              webhooks::WebhookSink& webhooks, std::vector<std::string> app_ids);
  ~RedisEngine() override;

  // Before start(): where messages are delivered (one sink per event-loop thread).
  void add_sink(MessageSink& sink) { sinks_.push_back(&sink); }
  // Closes a user's connections on this node (for terminate_connections from any node).
  void on_terminate(Terminate terminate) { terminate_ = std::move(terminate); }
  void start();
  // Stops the engine's thread: nothing is delivered to the sinks afterwards. Before the sinks
  // go (the destructor does it too, for an engine never started or stopped).
  void stop();
  // Whether Redis can be reached now (and this node holds a lease).
  bool ready() const override { return ready_.load(std::memory_order_relaxed); }
  EngineCounters counters() const override;
  // Closes a user's connections on every node.
  void terminate_everywhere(core::AppIndex app, const std::string& user);

  // Broker
  void publish(ChannelMessage message) override;

  // PresenceEngine
  void join(JoinRequest request, JoinCallback done) override;
  void leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
             core::SessionId session, core::Millis grace_ms) override;
  void subscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                  std::function<void()> in_place) override;
  void unsubscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                    core::Millis grace_ms) override;
  void channel_stats(core::AppIndex app, std::vector<std::string> channels,
                     StatsCallback done) override;
  void list_channels(core::AppIndex app, std::string prefix, ListingCallback done) override;
  void channel_users(core::AppIndex app, std::string channel, UsersCallback done) override;
  void heartbeat(HeartbeatRequest request, HeartbeatCallback done) override;
  void heartbeat_offline(HeartbeatOffline offline, std::function<void()> done) override;
  void users_presence(core::AppIndex app, std::vector<std::string> user_ids,
                      UserPresenceCallback done) override;
  void update_privacy(core::AppIndex app, std::string user_id, PrivacyChange change,
                      std::function<void(Answer<storage::Privacy>)> done) override;
  void set_status(core::AppIndex app, std::string user_id, core::SessionId session,
                  UserStatus status) override;
  void signed_in(core::AppIndex app, std::string user_id, core::SessionId session) override;
  void signed_out(core::AppIndex app, std::string user_id, core::SessionId session,
                  core::Millis grace_ms) override;
  void watch(core::AppIndex app, std::string watcher, std::vector<std::string> watched,
             OnlineCallback done) override;
  void unwatch(core::AppIndex app, std::string watcher, std::vector<std::string> watched) override;
  void tick(core::Millis now) override;
  void shut_down() override;

 private:
  struct WaitingJoin {
    std::string epoch;
    std::uint64_t version = 0;
    std::chrono::steady_clock::time_point since;
    JoinCallback done;
    // An invisible joiner (in no one else's list): themself and their user_info, added to
    // their own.
    std::optional<std::pair<std::string, std::string>> self;
  };
  // What this node has in one channel.
  struct LocalChannel {
    core::AppIndex app = 0;
    std::string name;
    ChannelKeys keys;
    // Its sessions here, with what they joined with (to re-assert them); user "": not a member.
    struct Session {
      std::string user;
      std::string info;
      bool in_status = false;  // counted in the user's LocalUser (local_session_added)
    };
    std::unordered_map<core::SessionId, Session> sessions;
    // The number of each session's latest join or leave sent and not answered: a join's
    // answer makes the session this node's only if nothing of the session was sent after it
    // (a leave sent while the join was in flight ended it; a later join stands for it).
    std::unordered_map<core::SessionId, std::uint64_t> latest_step;
    std::uint64_t steps = 0;
    // The registration in flight (one at a time, under one identity) and what waits for it,
    // run in the order they came: a session's leave never overtakes its own join.
    struct Registration {
      std::string node;
      std::vector<std::function<void(bool)>> waiting;
    };
    std::shared_ptr<Registration> registering;
    unsigned in_flight = 0;    // scripts sent and not answered, graces owned, leaves to retry
    std::uint64_t joins = 0;   // joiners answered here: their join numbers (see MemberCopy)
    bool registered = false;   // in this node's channel list in Redis
    bool loading = false;      // the member list is being read
    bool copy_wanted = false;  // a presence channel: the copy is kept
    MemberCopy copy;
    std::vector<WaitingJoin> waiting;
    // Subscribers to tell once this node hears the channel (see listening()), with when they
    // came; and whether that took longer than copy_wait, so that they were told all the same.
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::function<void()>>>
        unconfirmed;
    bool listen_overdue = false;
    std::vector<ChannelEvent> held;  // events that came while the list was being read
    // After a new epoch (Redis lost its data): when to read the list again and tell who is
    // really gone, once every live node has had its lease's time to write its sessions back.
    std::optional<std::chrono::steady_clock::time_point> settle_at;
  };
  struct GraceTimer {
    std::string tag;
    std::string user;  // "" for the channel's vacate grace
  };
  struct LeaveToRetry {
    std::string tag;
    core::SessionId session = 0;
    core::Millis grace_ms = 0;
    std::chrono::steady_clock::time_point left_at =
        std::chrono::steady_clock::now();  // grace counts from here
  };
  // A channel script's change to a user's memberships, for the user's record (second step).
  struct MembershipChange {
    core::AppIndex app = 0;
    std::string user;
    std::string tag;
    std::string epoch;
    std::uint64_t version = 0;
    bool present = false;
    std::int64_t left_at = 0;  // unix ms by Redis's clock, when the last session ended
    bool hidden = false;       // joined as invisible (as this node knew the user then)
    // A heartbeat tab's part in the user's status, written in the same step ("s:t:<tab>" or
    // "s:t:*"; its live and away counts): none, this node's part goes along if it changed.
    struct TabStatus {
      std::string field;
      int live = 0;
      int away = 0;
    };
    std::optional<TabStatus> tab_status = std::nullopt;
  };
  // Users some connection on this node watches, by the user's events channel.
  struct Watched {
    core::AppIndex app = 0;
    std::string user;
    std::unordered_map<std::string, std::uint32_t> watchers;  // watcher -> watches
    // As this node last heard (a reading or an event): an event that says it again is not
    // told, e.g. "online" from a record Redis lost and the nodes' sessions wrote again.
    std::optional<bool> online;
  };
  // What Redis holds of a user, read for users_presence and watch.
  struct UserState {
    bool online = false;
    bool away = false;
    std::optional<std::int64_t> last_seen_ms;
    storage::Privacy privacy;
  };
  using UserStatesCallback = std::function<void(Answer<std::vector<UserState>>)>;

  // On the engine thread.
  LocalChannel& local(core::AppIndex app, std::string_view channel);
  LocalChannel* find(const std::string& tag);
  std::vector<std::string> tags() const;  // of every local channel, to walk while changing it
  void forget_if_idle(LocalChannel& channel);
  void registered_then(LocalChannel& channel, std::function<void(bool ok)> next);
  void begin_session(LocalChannel& channel, core::SessionId session, std::string user,
                     std::string user_info, std::size_t max_members, std::string except,
                     JoinCallback done);
  void end_session(const std::string& tag, core::SessionId session, core::Millis grace_ms);
  // `held`: the user (app key) whose part in the status waits for the answer
  // (local_session_ended).
  void send_leave(const std::string& tag, core::SessionId session, core::Millis grace_ms,
                  std::uint64_t step, int attempts = kAttempts, std::string held = {});
  // A leave that could not be sent: kept for the next chance (when `retry`: not under an
  // identity this node no longer has), unless a later step of the session stands for it.
  void leave_not_sent(LocalChannel& channel, core::SessionId session, core::Millis grace_ms,
                      std::uint64_t step, bool retry);
  // A join's or a leave's step, answered: whether it was the session's latest (then forgotten).
  static bool answered_step(LocalChannel& channel, core::SessionId session, std::uint64_t step);
  // A session held here and not written yet (Redis out of reach; the re-assertion writes it):
  // a leave of it sent or queued before stands for nothing any more.
  void held_unwritten(LocalChannel& channel, core::SessionId session);
  // Whether `step` is still the session's latest: nothing of the session was sent after it.
  static bool latest(const LocalChannel& channel, core::SessionId session, std::uint64_t step);
  // Whether the channel's messages from every node reach this one: its subscription confirmed
  // (or none needed, or none possible while Redis is out of reach, or given up on after
  // copy_wait). A joiner or a subscriber is answered only then, so that nothing published
  // after their answer passes them by.
  bool listening(const LocalChannel& channel) const;
  void when_listening(LocalChannel& channel, std::function<void()> in_place);
  void on_listening(const std::string& pubsub_channel);
  // Answers the subscribers and joiners that waited for the channel's subscription, once it is
  // listening or they waited too long.
  void answer_listeners(LocalChannel& channel, std::chrono::steady_clock::time_point now);
  void answer_when_current(LocalChannel& channel, WaitingJoin waiting);
  void answer_waiting(LocalChannel& channel);
  void read_members(LocalChannel& channel);
  void on_event(LocalChannel& channel, ChannelEvent event);
  void tell_local(core::AppIndex app, const std::string& channel, std::string text,
                  std::string except, std::string except_user = {}, std::uint64_t joined_after = 0);
  void on_message(std::string_view pubsub_channel, std::string_view payload);
  void on_up();
  void on_down(const std::string& why);
  void register_node();
  static std::vector<std::string> script_texts();
  // Invisible users (see redis_engine_visibility.cpp).
  bool invisible(core::AppIndex app, const std::string& user) const;
  void load_invisible();
  void on_privacy_message(core::AppIndex app, std::string_view payload);
  void visibility_changed(core::AppIndex app, const std::string& user, bool now_invisible,
                          std::vector<std::string> tags);
  void set_visibility(core::AppIndex app, const std::string& tag, const std::string& user,
                      bool hide, int attempts = kAttempts);
  void retry_visibilities();
  void drop_leaves_to_retry(LocalChannel& channel, core::SessionId session);
  void refresh_lease();
  void new_identity();
  void reassert();
  void sweep();
  void sweep_node(const std::string& node);
  void sweep_channel(const std::string& tag, const std::string& node,
                     std::function<void(bool ok)> done);
  void run_graces();
  void end_grace(const GraceTimer& grace);
  void schedule_grace(GraceTimer grace, std::chrono::milliseconds after);
  void retry_leaves();
  void occupancy_changed(core::AppIndex app, const std::string& channel, bool occupied);
  void member_webhook(core::AppIndex app, webhooks::EventType type, const std::string& channel,
                      const std::string& user);

  // HTTP heartbeats (redis_engine_heartbeats.cpp).
  using EndedTab = std::function<void(const redis::Reply* reply)>;
  void end_tab(core::AppIndex app, const std::string& channel, std::string user, std::string tab,
               std::string_view mode, core::Millis grace_ms, core::Millis ttl_ms, EndedTab then);
  void end_tab_retrying(core::AppIndex app, const std::string& channel, const std::string& user,
                        const std::string& tab, std::string_view mode, core::Millis grace_ms,
                        core::Millis ttl_ms, int attempts, EndedTab then);
  void read_memberships(const std::string& key, int attempts,
                        std::function<void(const redis::Reply*)> then);
  void write_tab_status(core::AppIndex app, const std::string& user, std::string field, int live,
                        int away, int attempts);
  void expect_expiry(core::AppIndex app, const std::string& user, const std::string& entry,
                     std::int64_t due_unix_ms);
  struct Ping;
  void ping_channel(const std::shared_ptr<Ping>& ping, std::size_t channel, bool must_write);
  void sweep_heartbeats();
  void expire_tab(core::AppIndex app, unsigned partition, std::string entry);

  // Online / away (redis_engine_status.cpp).
  // The session is in one more channel here (each once: see LocalChannel::Session).
  void local_session_added(core::AppIndex app, const std::string& user, core::SessionId session);
  // A leave of the session is on its way: this node's part in the user's status is not
  // written alone before its answer, so that the leave's second step (the user's membership)
  // carries it, as a join's does. Returns the key to release_status() with ("" for none).
  std::string local_session_ended(core::AppIndex app, const std::string& user,
                                  core::SessionId session);
  void report_status(const std::string& key);
  void release_status(const std::string& key);
  // This node's part of the user's status if it is to be written now (and then marks it in
  // flight: status_written must follow).
  std::optional<std::pair<int, int>> take_status_write(const std::string& key);
  void status_written(const std::string& key, std::pair<int, int> part, bool ok);
  void retry_statuses();
  void tell_status(core::AppIndex app, const std::string& user, const redis::Reply& reply,
                   std::size_t first);
  void write_status(core::AppIndex app, const std::string& user, std::string field, int live,
                    int away, std::function<void(bool ok)> then = {});
  void reassert_statuses();
  std::string node_status_field(std::string_view node) const;

  // Users (redis_engine_users.cpp).
  static constexpr int kAttempts = 3;  // of a command that changes nothing if sent twice
  // Whether a lost command with `attempts` left (this one included) is sent again now: while
  // connected, and not for the last one (which waits for the next lease refresh or gives up).
  bool retry_at_once(int attempts) const { return attempts > 1 && client_->up() && !stopping_; }
  void membership_changed(MembershipChange change, int attempts = kAttempts);
  void retry_memberships();
  void read_users(core::AppIndex app, std::vector<std::string> users, UserStatesCallback done,
                  int attempts = kAttempts);
  void read_users_once(core::AppIndex app, std::vector<std::string> users, UserStatesCallback done);
  void verify_memberships(std::vector<std::string> users,
                          std::shared_ptr<std::vector<UserState>> states,
                          std::vector<std::vector<std::string>> claimed, UserStatesCallback done);
  void on_user_event(Watched& watched, std::string_view event);
  // A watch's first reading of who is online, made once this node hears every watched user's
  // events (so that a change after the reading is told) and made again while it fails (Redis
  // out of reach) and the watch stands: a watcher is never told "nobody" for "unknown".
  struct WatchReading {
    core::AppIndex app = 0;
    std::string watcher;
    std::vector<std::string> users;
    OnlineCallback done;
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point not_before;  // after a failed reading
    bool in_flight = false;
  };
  void read_watches();
  void read_watch(const std::shared_ptr<WatchReading>& reading);
  bool still_watching(const WatchReading& reading) const;
  // EVALSHA, or EVAL when Redis does not know the script; sent where the first key lives.
  void run_script(const Script& script, std::vector<std::string> keys,
                  std::vector<std::string> args, redis::ReplyHandler done);
  std::string epoch_candidate();
  std::string_view publish_command() const;
  std::optional<core::AppIndex> app_index(std::string_view app_id) const;
  void every(boost::asio::steady_timer& timer, std::chrono::milliseconds interval,
             void (RedisEngine::*step)());

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  ClientFactory make_client_;
  std::shared_ptr<redis::RedisClient> client_;
  RedisEngineOptions options_;
  RedisKeys keys_;
  webhooks::WebhookSink& webhooks_;
  std::vector<std::string> app_ids_;
  std::vector<MessageSink*> sinks_;
  Terminate terminate_;
  std::string node_;  // this node's identity in Redis: a new one whenever its lease was lost
  std::uint64_t epochs_made_ = 0;
  std::minstd_rand random_{std::random_device{}()};
  std::unordered_map<std::string, LocalChannel> channels_;  // by tag
  std::unordered_map<std::string, std::string> by_events_;  // pub/sub channel -> tag
  std::multimap<std::chrono::steady_clock::time_point, GraceTimer> graces_;
  std::vector<LeaveToRetry> leaves_to_retry_;
  std::vector<MembershipChange> memberships_to_retry_;
  // Channels where a user's visibility could not be set (app, tag, user): set at the next
  // lease refresh to what this node then knows of the user.
  struct VisibilityToRetry {
    core::AppIndex app = 0;
    std::string tag;
    std::string user;
  };
  std::vector<VisibilityToRetry> visibilities_to_retry_;
  std::unordered_map<std::string, Watched> watched_;           // by the user's events channel
  std::vector<std::shared_ptr<WatchReading>> watch_readings_;  // not yet answered
  // This node's sessions of each user (by app and user) with their status: its part in the
  // user's status, written to the user's record as "live away" when it changes.
  struct LocalUser {
    core::AppIndex app = 0;
    std::string user;
    // Few: a user's connections to this node. Each counts the channels it is in here (its
    // sign-in included), one for each local_session_added not yet ended.
    struct Session {
      core::SessionId id = 0;
      std::uint32_t channels = 0;
      bool away = false;
    };
    std::vector<Session> sessions;
    std::pair<int, int> written{0, 0};  // live and away as the record has them
    bool writing = false;               // a write is in flight; another follows if needed
    bool flush_posted = false;          // a write waits for the end of the current step
    int leaves_in_flight = 0;           // whose answers may carry the write
    int failed_writes = 0;              // in a row
  };
  std::unordered_map<std::string, LocalUser> local_users_;
  bool node_registered_ = false;
  bool reconnected_ = false;  // since the last refresh: what Redis holds is re-asserted
  std::unordered_set<std::string> statuses_to_retry_;  // app keys of LocalUsers
  // Each app's invisible users, as Redis has them (loaded at registration, kept from the
  // app's privacy channel): what a join or a ping of theirs is marked with.
  std::vector<InvisibleUsers> invisible_;
  std::unordered_map<std::string, core::AppIndex> by_privacy_channel_;
  // Per app and expiry partition (see sweep_heartbeats).
  struct ExpiryPartition {
    std::string due;  // its keys, made once (RedisKeys::heartbeat_tag)
    std::string claimed;
    std::chrono::steady_clock::time_point quiet_until;  // found empty: not swept before
    std::chrono::steady_clock::time_point written;      // when this node last wrote to it
  };
  std::vector<std::array<ExpiryPartition, RedisKeys::kHeartbeatPartitions>> partitions_;
  RecentExpiries recent_expiries_;  // the expiry entries this node wrote lately
  bool registering_ = false;        // a registration sent and not answered
  bool sweeping_started_ = false;   // the sweeps' timers run (from the first registration)
  bool reassert_pending_ = false;   // a session could not be written: again at the next refresh
  bool stopping_ = false;
  bool halted_ = false;  // stop() was called: no timer is armed again
  // For counters(), read from other threads (relaxed: statistics, ordered with nothing).
  std::atomic<std::uint64_t> messages_not_shared_{0};  // published while Redis was out of reach
  std::atomic<std::uint64_t> store_disconnections_{0};
  std::atomic<std::uint64_t> leases_lost_{0};
  std::atomic<std::uint64_t> nodes_swept_{0};
  std::atomic<std::uint64_t> subscriptions_unconfirmed_{0};
  std::chrono::steady_clock::time_point last_unready_report_ = std::chrono::steady_clock::now();
  std::atomic<bool> ready_{false};
  boost::asio::steady_timer lease_timer_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer grace_timer_;
  std::thread thread_;
};

}  // namespace greendot::engine::redis_engine
