// FaultyRedisClient: a RedisClient that passes everything to another one (the real client of a
// test's redis-server) and makes Redis look slow and unreliable on the way, so that what an
// engine promises can be checked under the faults it must survive:
// - every reply is held for a random while before it is handed on, so that replies come back
//   in another order than their commands were sent, as they do from the shards of a Cluster.
//   Not the replies of one hash slot (one key, or keys of one {tag}): those share a connection
//   to one shard in a Cluster too, so they keep their order. Commands are sent at once, in
//   order: what Redis executes, and the order of the commands of one key, is unchanged.
// - messages of subscribed channels are held too, each for a random while but never
//   overtaking one another (pub/sub keeps its order), so that an event may come before or after
//   the reply of the script that published it, as it does when subscriptions and commands take
//   different connections.
// - a subscription may be handed on late (subscribe_delay): Redis confirms it only then, and a
//   message published before is not delivered, as when a subscription waits for a connection
//   or a slot's new owner.
// - a command may fail as if the connection were down when it was given: it is not sent, and
//   its answer (after the same random while) is a ConnectionError. So do the commands given
//   after it before the caller returns to the event loop: on a link that is down, the commands
//   of one moment fail together, and a caller may rely on that (a command written "in the same
//   round trip" as the one that needs it). Only the commands `may_fail` allows: a command
//   whose loss its sender cannot notice by design (a publish with no answer to wait for) would
//   only show that the fault is real, not that a promise is broken.
//
// The faults are drawn from a seeded std::minstd_rand: the seed names the sequence of delays and
// failures of a run (the threads' timing can still differ from one run to the next).
//
// Single-threaded like the interface: every call and every callback on the io_context's thread,
// except fail_commands() and failures(), which a test may call from its own. Nothing is handed on
// after stop() or once the client is gone: the timers' handlers hold it weakly and find what
// they are for by id, and stop() ends every held reply at once, with a ConnectionError, as a
// closed connection would.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "redis/redis_client.hpp"

namespace greendot::redis::testing {

struct FaultOptions {
  std::uint32_t seed = 1;
  // Each reply is held for a random time up to this.
  std::chrono::milliseconds max_reply_delay{30};
  // Each pub/sub message is held for a random time up to this, in order.
  std::chrono::milliseconds max_message_delay{30};
  // How likely a command `may_fail` allows is answered with a ConnectionError, not sent.
  double failure_probability = 0.03;
  // Which commands may fail: (key, args). None: every command.
  std::function<bool(std::string_view key, std::span<const std::string_view> args)> may_fail;
  // Told of each command failed (on the io_context's thread), to say what a failed run lost.
  std::function<void(std::string_view key, std::span<const std::string_view> args)> on_failure;
  // Told of each command given, failed or not (on the io_context's thread).
  std::function<void(std::string_view key, std::span<const std::string_view> args)> on_command;
  // Commands lost and answered only when the test says (release_held): a ConnectionError
  // that comes late, out of its slot's order, as from a connection that was replaced. For a
  // test that needs a failure to land after what it does next.
  std::function<bool(std::string_view key, std::span<const std::string_view> args)> hold;
  // Each subscribe() is handed on this long after it is given.
  std::chrono::milliseconds subscribe_delay{0};
};

class FaultyRedisClient final : public RedisClient,
                                public std::enable_shared_from_this<FaultyRedisClient> {
 public:
  static std::shared_ptr<FaultyRedisClient> create(boost::asio::io_context& io,
                                                   std::shared_ptr<RedisClient> inner,
                                                   FaultOptions options) {
    return std::make_shared<FaultyRedisClient>(io, std::move(inner), std::move(options));
  }
  FaultyRedisClient(boost::asio::io_context& io, std::shared_ptr<RedisClient> inner,
                    FaultOptions options)
      : io_(io),
        inner_(std::move(inner)),
        options_(std::move(options)),
        random_(options_.seed),
        message_timer_(io) {}

  // Whether commands fail now (from any thread): off, only the delays remain.
  void fail_commands(bool on) { failing_.store(on, std::memory_order_relaxed); }
  // How many commands were failed so far (from any thread).
  std::uint64_t failures() const { return failures_; }
  // The commands `hold` took, and how many of them have been answered (from any thread).
  std::uint64_t held() const { return held_count_; }
  std::uint64_t released() const { return released_count_; }
  // Answers what `hold` took with a ConnectionError (from any thread).
  void release_held() {
    std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
    boost::asio::post(io_, [weak] {
      auto self = weak.lock();
      if (!self) return;
      auto taken = std::move(self->held_failures_);
      self->held_failures_.clear();
      for (auto& done : taken) {
        done(ConnectionError{"injected: held, then lost"});
        ++self->released_count_;
      }
    });
  }

  void load_scripts_on_connect(std::vector<std::string> scripts) override {
    inner_->load_scripts_on_connect(std::move(scripts));
  }

  // The handlers given to this client are told through the inner one's.
  void start() override {
    stopped_ = false;
    std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
    inner_->on_message([weak](std::string_view channel, std::string_view payload) {
      if (auto self = weak.lock()) self->hold_message(channel, payload);
    });
    inner_->on_up([weak] {
      if (auto self = weak.lock(); self && self->on_up_) self->on_up_();
    });
    inner_->on_down([weak](const std::string& why) {
      if (auto self = weak.lock(); self && self->on_down_) self->on_down_(why);
    });
    inner_->on_listening([weak](const std::string& channel) {
      if (auto self = weak.lock(); self && self->on_listening_) self->on_listening_(channel);
    });
    inner_->start();
  }

  void stop() override {
    stopped_ = true;
    inner_->stop();  // its waiting commands end now: their replies stay held, ended below
    message_timer_.cancel();
    messages_.clear();
    // What was held ends as the commands of a closed connection do, in the order sent. Taken
    // out first: an answer may send another command, which fails at once.
    auto held = std::move(held_);
    held_.clear();
    slots_.clear();
    for (auto& [id, reply] : held) {
      reply->timer.cancel();
      reply->done(ConnectionError{"the client was stopped"});
    }
    auto taken = std::move(held_failures_);
    held_failures_.clear();
    for (auto& done : taken) done(ConnectionError{"the client was stopped"});
  }

  bool up() const override { return inner_->up(); }
  bool cluster() const override { return inner_->cluster(); }

  void command(std::string_view key, std::span<const std::string_view> args,
               ReplyHandler done) override {
    if (stopped_) return done(ConnectionError{"the client was stopped"});
    if (options_.on_command) options_.on_command(key, args);
    if (options_.hold && options_.hold(key, args)) {
      held_failures_.push_back(std::move(done));
      ++held_count_;
      return;
    }
    const bool allowed = !options_.may_fail || options_.may_fail(key, args);
    // Both drawn for every command, so that the sequence follows the seed whether or not
    // failures are on.
    const bool drawn = draw_failure();
    const bool fail = allowed && failing_.load(std::memory_order_relaxed) && (drawn || down_);
    if (fail && !down_) {
      // Down for this moment: up again once the caller has returned to the event loop.
      down_ = true;
      std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
      boost::asio::post(io_, [weak] {
        if (auto self = weak.lock()) self->down_ = false;
      });
    }
    const auto delay = draw(options_.max_reply_delay);
    const std::uint64_t id = ++next_id_;
    auto reply = std::make_unique<HeldReply>(io_);
    reply->slot = std::string(slot_of(key));
    reply->delay = delay;
    reply->done = std::move(done);
    slots_[reply->slot].push_back(id);
    held_.emplace(id, std::move(reply));
    if (fail) {
      ++failures_;
      if (options_.on_failure) options_.on_failure(key, args);
      return arrived(id, ConnectionError{"injected: the command was lost before it was sent"});
    }
    std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
    inner_->command(key, args, [weak, id](Result result) {
      if (auto self = weak.lock()) self->arrived(id, std::move(result));
    });
  }

  void subscribe(const std::string& channel) override {
    if (options_.subscribe_delay.count() <= 0) return inner_->subscribe(channel);
    const std::uint64_t id = ++next_id_;
    delayed_subscribes_[channel] = id;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.subscribe_delay);
    std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
    timer->async_wait([weak, timer, channel, id](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped_) return;
      auto it = self->delayed_subscribes_.find(channel);
      if (it == self->delayed_subscribes_.end() || it->second != id) return;  // unsubscribed
      self->delayed_subscribes_.erase(it);
      self->inner_->subscribe(channel);
    });
  }
  void unsubscribe(const std::string& channel) override {
    if (delayed_subscribes_.erase(channel) == 0) inner_->unsubscribe(channel);
  }
  bool listening(const std::string& channel) const override { return inner_->listening(channel); }

 private:
  // A command sent (or failed), from then until its reply is handed on: `result` once the
  // inner client has it, `due` once its delay after that has passed.
  struct HeldReply {
    explicit HeldReply(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::string slot;
    std::chrono::milliseconds delay{0};
    std::optional<Result> result;
    bool due = false;
    ReplyHandler done;
  };
  struct HeldMessage {
    std::chrono::steady_clock::time_point due;
    std::string channel;
    std::string payload;
  };

  // What a Cluster routes by: the {tag} of a key when it has a non-empty one, or the key.
  static std::string_view slot_of(std::string_view key) {
    const auto open = key.find('{');
    if (open == std::string_view::npos) return key;
    const auto close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) return key;
    return key.substr(open + 1, close - open - 1);
  }

  std::chrono::milliseconds draw(std::chrono::milliseconds max) {
    if (max.count() <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(0, max.count())(random_));
  }
  bool draw_failure() {
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_) < options_.failure_probability;
  }

  // The reply is held for its delay. While stopped it stays as it is: stop() ends it.
  void arrived(std::uint64_t id, Result result) {
    auto it = held_.find(id);
    if (stopped_ || it == held_.end()) return;
    HeldReply& reply = *it->second;
    reply.result = std::move(result);
    reply.timer.expires_after(reply.delay);
    std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
    reply.timer.async_wait([weak, id](const boost::system::error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self) return;
      auto it = self->held_.find(id);
      if (it == self->held_.end()) return;
      it->second->due = true;
      self->hand_on(it->second->slot);
    });
  }

  // The replies of one slot, in the order their commands were sent, as far as they are due.
  // One at a time, taken out first: an answer may send commands, or stop this client. `slot`
  // is a copy: the reply it was taken from goes.
  void hand_on(std::string slot) {
    while (!stopped_) {
      auto queue = slots_.find(slot);
      if (queue == slots_.end()) return;
      auto it = held_.find(queue->second.front());
      if (it == held_.end() || !it->second->due) return;
      std::unique_ptr<HeldReply> reply = std::move(it->second);
      held_.erase(it);
      queue->second.pop_front();
      if (queue->second.empty()) slots_.erase(queue);
      reply->done(std::move(*reply->result));
    }
  }

  // Due no earlier than the message before it: held, but in order.
  void hold_message(std::string_view channel, std::string_view payload) {
    if (stopped_) return;
    auto due = std::chrono::steady_clock::now() + draw(options_.max_message_delay);
    if (!messages_.empty() && messages_.back().due > due) due = messages_.back().due;
    messages_.push_back(HeldMessage{due, std::string(channel), std::string(payload)});
    if (messages_.size() == 1) wait_for_message();
  }

  void wait_for_message() {
    message_timer_.expires_at(messages_.front().due);
    std::weak_ptr<FaultyRedisClient> weak = weak_from_this();
    message_timer_.async_wait([weak](const boost::system::error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self) return;
      const auto now = std::chrono::steady_clock::now();
      // One at a time, taken out first: a handler may stop this client.
      while (!self->stopped_ && !self->messages_.empty() && self->messages_.front().due <= now) {
        HeldMessage message = std::move(self->messages_.front());
        self->messages_.pop_front();
        if (self->on_message_) self->on_message_(message.channel, message.payload);
      }
      if (!self->stopped_ && !self->messages_.empty()) self->wait_for_message();
    });
  }

  boost::asio::io_context& io_;
  std::shared_ptr<RedisClient> inner_;
  FaultOptions options_;
  std::minstd_rand random_;
  std::atomic<bool> failing_{true};
  std::atomic<std::uint64_t> failures_{0};
  std::vector<ReplyHandler> held_failures_;
  std::atomic<std::uint64_t> held_count_{0};
  std::atomic<std::uint64_t> released_count_{0};
  bool stopped_ = true;
  bool down_ = false;  // a command failed in this moment: so do the others
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::unique_ptr<HeldReply>> held_;          // by id: in order sent
  std::unordered_map<std::string, std::deque<std::uint64_t>> slots_;  // ids waiting, by slot
  std::deque<HeldMessage> messages_;
  boost::asio::steady_timer message_timer_;
  std::unordered_map<std::string, std::uint64_t> delayed_subscribes_;  // channel -> its id
};

// Whether the Redis engine (src/engine/redis) notices that `args` failed and makes it good, so
// that losing it may only delay what it promises, or make a join answer Unavailable: its
// scripts (a join lost is refused, and ended in case it was made; a leave is retried at the next
// lease refresh; a grace end is tried again; a reading of the member list is read again; a
// lease refresh happens again; stats and listings answer "unavailable", which is retryable),
// registering a channel in the node's channel list (SADD: the join is refused), and the rest,
// whose loss costs nothing or is made good: a heartbeat's expiry entry (lost only together with
// the script given after it, in the same moment), a sweep's clean-up (claimed again), a node
// channel list's SREM (it leaves a sweep nothing to do). Not:
// - PUBLISH / SPUBLISH: a message (or a terminate) is published without waiting for an
//   answer; one Redis never had is lost, and only a lost connection makes the engine count
//   such losses. No failure here takes the connection down.
// - SADD / SREM of `app_channels`, the app's list of occupied channels: written once per
//   transition, with nothing waiting for the answer, so a channel lost there is not listed.
inline bool redis_engine_notices_failure(std::string_view app_channels, std::string_view key,
                                         std::span<const std::string_view> args) {
  if (args.empty()) return false;
  const std::string_view command = args[0];
  if (command == "PUBLISH" || command == "SPUBLISH") return false;
  if ((command == "SADD" || command == "SREM") && key == app_channels) return false;
  return true;
}

}  // namespace greendot::redis::testing
