// HTTP heartbeats across nodes: a tab's session is in the channel's keys, owned by no node,
// and found by its due time in one of the app's expiry partitions, which every node sweeps
// with its node leases (see heartbeat_scripts.hpp). A grace that follows the end of a user's
// last session is owned by the node that ended it, like a connection's.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <chrono>

#include "engine/redis/heartbeat_scripts.hpp"
#include "engine/redis/recent_expiries.hpp"
#include "engine/redis/redis_engine.hpp"
#include "engine/redis/reply_fields.hpp"

namespace greendot::engine::redis_engine {

namespace asio = boost::asio;
using redis::Reply;
using redis::Result;

namespace {

// A sweep holds the expiries it claimed this long; one that stalls is taken over after it.
constexpr std::chrono::milliseconds kExpiryClaim{5000};
constexpr int kExpiriesPerSweep = 200;
constexpr std::chrono::seconds kQuietPartition{5};
// A ping without a tab id shares the member's tab "" (tab ids are [A-Za-z0-9_.:-]).
constexpr std::string_view kNoTab = "~";

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "user tab tag": user ids and tab ids hold no space; the tag is the rest.
std::string expiry_entry(std::string_view user, std::string_view tab, std::string_view tag) {
  std::string entry(user);
  entry.push_back(' ');
  entry.append(tab).push_back(' ');
  entry.append(tag);
  return entry;
}

std::string tab_status_field(std::string_view tab) {
  std::string field = "s:t:";
  field.append(tab);
  return field;
}

bool parse_entry(std::string_view entry, std::string& user, std::string& tab, std::string& tag) {
  const auto first = entry.find(' ');
  if (first == std::string_view::npos) return false;
  const auto second = entry.find(' ', first + 1);
  if (second == std::string_view::npos) return false;
  user = entry.substr(0, first);
  tab = entry.substr(first + 1, second - first - 1);
  tag = entry.substr(second + 1);
  return !user.empty() && !tab.empty() && !tag.empty();
}

}  // namespace

// The expiry entry is written before the session, in the same round trip: a session never
// exists without one. Its time is this node's clock; the session's own due time (Redis's
// clock) decides, so a skewed entry only makes a sweep look early or late.
// `entry` is expiry_entry(user, tab, tag).
void RedisEngine::expect_expiry(core::AppIndex app, const std::string& user,
                                const std::string& entry, std::int64_t due_unix_ms) {
  const unsigned partition = RedisKeys::heartbeat_partition(user);
  auto& sweep = partitions_[app][partition];
  sweep.written = std::chrono::steady_clock::now();
  sweep.quiet_until = {};  // swept at the full rate again
  const std::string& key = sweep.due;
  const std::string score = std::to_string(due_unix_ms);
  recent_expiries_.wrote(entry, due_unix_ms, unix_now_ms());
  const std::string_view args[] = {"ZADD", key, "GT", score, entry};
  client_->command(key, args, [this, entry](Result result) {
    if (!reply_of(result)) recent_expiries_.forget(entry);  // written again by the next ping
  });
}

// One ping of a tab in several channels, answered once every channel has.
struct RedisEngine::Ping {
  HeartbeatRequest request;
  HeartbeatCallback done;
  std::string tab;
  std::int64_t due = 0;  // of its expiry entries (this node's clock)
  bool hide = false;
  std::vector<HeartbeatAnswer> answers;
  std::size_t left = 0;
  bool status_changed = false;
  std::vector<MembershipChange> joined;  // the user's second steps, sent once all answered
};

void RedisEngine::heartbeat(HeartbeatRequest request, HeartbeatCallback done) {
  asio::post(io_, [this, request = std::move(request), done = std::move(done)]() mutable {
    const std::size_t n = request.channels.size();
    if (stopping_ || !ready()) {
      return done(std::vector<HeartbeatAnswer>(n, HeartbeatAnswer::Unavailable));
    }
    if (n == 0) return done({});
    auto ping = std::make_shared<Ping>();
    ping->tab = request.tab.empty() ? std::string(kNoTab) : request.tab;
    ping->due = unix_now_ms() + request.ttl_ms;
    ping->hide = invisible(request.app, request.user_id);
    ping->answers.assign(n, HeartbeatAnswer::Unavailable);
    ping->left = n;
    ping->request = std::move(request);
    ping->done = std::move(done);
    for (std::size_t i = 0; i < n; ++i) ping_channel(ping, i, false);
  });
}

// An entry that still has half the TTL to run is not written again (recent_expiries.hpp);
// `must_write` after the script found the tab without a session.
void RedisEngine::ping_channel(const std::shared_ptr<Ping>& ping, std::size_t i, bool must_write) {
  const HeartbeatRequest& request = ping->request;
  const std::string& name = request.channels[i];
  ChannelKeys keys = keys_.channel(app_ids_[request.app], name, node_);
  const std::int64_t now = ping->due - request.ttl_ms;
  const std::string entry = expiry_entry(request.user_id, ping->tab, keys.tag);
  const bool kept = !must_write && recent_expiries_.fresh(entry, now, request.ttl_ms / 2);
  if (!kept) expect_expiry(request.app, request.user_id, entry, ping->due);
  std::vector<std::string> args{request.user_id,
                                request.user_info,
                                ping->tab,
                                std::to_string(request.ttl_ms),
                                std::to_string(request.grace_ms),
                                std::to_string(request.max_members),
                                std::string(publish_command()),
                                keys.events,
                                epoch_candidate(),
                                !request.status                       ? "-"
                                : *request.status == UserStatus::Away ? "a"
                                                                      : "o",
                                ping->hide ? "1" : "0",
                                kept ? "1" : "0"};
  run_script(heartbeat_script(), {keys.keys.begin(), keys.keys.end()}, std::move(args),
             [this, ping, i, kept, tag = keys.tag](Result result) {
               const HeartbeatRequest& request = ping->request;
               const std::string& name = request.channels[i];
               const Reply* reply = reply_of(result);
               const std::string& outcome = reply ? text_at(*reply, 0) : std::string();
               if (outcome == "expiry" && kept) return ping_channel(ping, i, true);
               if (outcome == "ok") {
                 ping->answers[i] = HeartbeatAnswer::Present;
                 if (integer_at(*reply, 4) == 1) ping->status_changed = true;
                 if (integer_at(*reply, 1) == 1) {
                   member_webhook(request.app, webhooks::EventType::MemberAdded, name,
                                  request.user_id);
                   ping->joined.push_back(MembershipChange{
                       request.app, request.user_id, tag, text_at(*reply, 2),
                       static_cast<std::uint64_t>(integer_at(*reply, 3)), true, 0, ping->hide});
                   // Listed although no connection holds it (REST channel listings).
                   const std::string list = keys_.app_channels(app_ids_[request.app]);
                   const std::string_view sadd[] = {"SADD", list, name};
                   client_->command(list, sadd, [](Result) {});
                 }
               } else if (outcome == "full") {
                 ping->answers[i] = HeartbeatAnswer::Full;
               } else if (outcome == "ended") {
                 ping->answers[i] = HeartbeatAnswer::TabEnded;
               }
               if (--ping->left != 0) return;
               // The tab's part in the user's status, after its memberships (one slot, one
               // connection: in this order), in the same step as the last one if any.
               if (ping->status_changed) {
                 const auto& status = request.status;
                 MembershipChange::TabStatus part{tab_status_field(ping->tab), 1,
                                                  !status                       ? -1
                                                  : *status == UserStatus::Away ? 1
                                                                                : 0};
                 if (ping->joined.empty()) {
                   write_tab_status(request.app, request.user_id, std::move(part.field), 1,
                                    part.away, kAttempts);
                 } else {
                   ping->joined.back().tab_status = std::move(part);
                 }
               }
               for (auto& change : ping->joined) membership_changed(std::move(change));
               ping->done(std::move(ping->answers));
             });
}

void RedisEngine::heartbeat_offline(HeartbeatOffline offline, std::function<void()> done) {
  asio::post(io_, [this, offline = std::move(offline), done = std::move(done)]() mutable {
    // Not reachable now: the tab's session ends by its TTL instead.
    if (stopping_ || !ready()) return done();
    // Done once every channel's script has answered.
    struct Pending {
      std::size_t left = 0;
      std::function<void()> done;
      void one_answered() {
        if (--left == 0) done();
      }
    };
    auto pending = std::make_shared<Pending>(Pending{0, std::move(done)});
    const bool one_tab = offline.tab.has_value();
    const std::string tab = one_tab ? *offline.tab : std::string(kNoTab);
    const std::string_view mode = one_tab ? "end" : "end_all";
    auto end_in = [this, offline, tab, mode, one_tab, pending](const std::string& channel) {
      const std::string tag = RedisKeys::tag(app_ids_[offline.app], channel);
      // An ended tab is recognised for a TTL; its entry clears it afterwards.
      if (one_tab) {
        expect_expiry(offline.app, offline.user_id, expiry_entry(offline.user_id, tab, tag),
                      unix_now_ms() + offline.ttl_ms);
      }
      end_tab_retrying(offline.app, channel, offline.user_id, tab, mode, offline.grace_ms,
                       offline.ttl_ms, kAttempts,
                       [pending](const Reply*) { pending->one_answered(); });
    };
    if (!offline.channel.empty()) {
      pending->left = 1;
      return end_in(offline.channel);
    }
    // Every channel the user is a member of, as their record says.
    const UserKeys keys = keys_.user(app_ids_[offline.app], offline.user_id);
    const std::string prefix = app_ids_[offline.app] + ":";
    read_memberships(keys.memberships, kAttempts,
                     [end_in = std::move(end_in), prefix, pending](const Reply* reply) {
                       std::vector<std::string> channels;
                       if (reply) {
                         for (const auto& tag : reply->elements) {
                           if (!tag.text.starts_with(prefix) || tag.text.size() == prefix.size()) {
                             continue;
                           }
                           std::string channel = tag.text.substr(prefix.size());
                           if (!channel.starts_with('#')) channels.push_back(std::move(channel));
                         }
                       }
                       if (channels.empty()) return pending->done();
                       pending->left = channels.size();
                       for (const auto& channel : channels) end_in(channel);
                     });
  });
}

// An offline is a tab's last word (often a beacon, which nobody retries): a lost command is
// tried again before the offline is answered; only if it keeps failing does the TTL end it.
void RedisEngine::end_tab_retrying(core::AppIndex app, const std::string& channel,
                                   const std::string& user, const std::string& tab,
                                   std::string_view mode, core::Millis grace_ms,
                                   core::Millis ttl_ms, int attempts, EndedTab then) {
  end_tab(app, channel, user, tab, mode, grace_ms, ttl_ms,
          [this, app, channel, user, tab, mode = std::string(mode), grace_ms, ttl_ms, attempts,
           then = std::move(then)](const Reply* reply) mutable {
            if (reply || !retry_at_once(attempts)) return then(reply);
            end_tab_retrying(app, channel, user, tab, mode, grace_ms, ttl_ms, attempts - 1,
                             std::move(then));
          });
}

void RedisEngine::read_memberships(const std::string& key, int attempts,
                                   std::function<void(const Reply*)> then) {
  const std::string_view args[] = {"HKEYS", key};
  client_->command(key, args, [this, key, attempts, then = std::move(then)](Result result) mutable {
    const Reply* reply = reply_of(result);
    if (reply || !retry_at_once(attempts)) return then(reply);
    read_memberships(key, attempts - 1, std::move(then));
  });
}

// A tab's part in its user's status: tried again at once if lost, since a tab belongs to no
// node and nothing would write it again before its status changes.
void RedisEngine::write_tab_status(core::AppIndex app, const std::string& user, std::string field,
                                   int live, int away, int attempts) {
  write_status(app, user, field, live, away,
               [this, app, user, field, live, away, attempts](bool ok) {
                 if (ok || !retry_at_once(attempts)) return;
                 write_tab_status(app, user, field, live, away, attempts - 1);
               });
}

void RedisEngine::end_tab(core::AppIndex app, const std::string& name, std::string user,
                          std::string tab, std::string_view mode, core::Millis grace_ms,
                          core::Millis ttl_ms, EndedTab then) {
  LocalChannel& channel = local(app, name);
  ++channel.in_flight;
  const std::string tag = channel.keys.tag;
  // Registered first: a grace this node starts must be found if this node dies.
  registered_then(channel, [this, tag, user = std::move(user), tab = std::move(tab),
                            mode = std::string(mode), grace_ms, ttl_ms,
                            then = std::move(then)](bool registered) mutable {
    LocalChannel* channel = find(tag);
    if (!channel) return then(nullptr);
    if (!registered) {
      --channel->in_flight;
      then(nullptr);
      return forget_if_idle(*channel);
    }
    std::vector<std::string> args{node_,
                                  user,
                                  tab,
                                  mode,
                                  std::to_string(grace_ms),
                                  std::to_string(ttl_ms),
                                  std::string(publish_command()),
                                  channel->keys.events,
                                  epoch_candidate()};
    run_script(
        heartbeat_end_script(), {channel->keys.keys.begin(), channel->keys.keys.end()},
        std::move(args), [this, tag, user, tab, mode, then = std::move(then)](Result result) {
          LocalChannel* channel = find(tag);
          if (!channel) return then(nullptr);
          --channel->in_flight;
          const Reply* reply = reply_of(result);
          if (reply && text_at(*reply, 0) == "ok") {
            std::string field = mode == "end_all" ? "s:t:*" : tab_status_field(tab);
            if (integer_at(*reply, 1) == 1) {
              member_webhook(channel->app, webhooks::EventType::MemberRemoved, channel->name, user);
              // The tab's part in the status goes with the membership (one step).
              MembershipChange change{channel->app,
                                      user,
                                      tag,
                                      text_at(*reply, 3),
                                      static_cast<std::uint64_t>(integer_at(*reply, 4)),
                                      false,
                                      integer_at(*reply, 5)};
              change.tab_status = MembershipChange::TabStatus{std::move(field), 0, 0};
              membership_changed(std::move(change));
            } else {
              write_tab_status(channel->app, user, std::move(field), 0, 0, kAttempts);
            }
            if (const auto grace_due = integer_at(*reply, 2); grace_due > 0) {
              // Checked again against Redis's clock when it fires.
              schedule_grace(GraceTimer{tag, user}, std::chrono::milliseconds(1));
            }
            if (integer_at(*reply, 6) == 1) {
              const std::string list = keys_.app_channels(app_ids_[channel->app]);
              const std::string_view srem[] = {"SREM", list, channel->name};
              client_->command(list, srem, [](Result) {});
            }
          }
          then(reply);
          forget_if_idle(*channel);
        });
  });
}

// An empty partition is looked at again only after kQuietPartition, unless this node writes to
// it meanwhile: idle nodes and apps without heartbeats cost Redis next to nothing, and an
// expiry written by a node that then died is found that much later at most.
void RedisEngine::sweep_heartbeats() {
  if (!client_->up() || stopping_) return;
  const std::string claim = std::to_string(kExpiryClaim.count());
  const std::string limit = std::to_string(kExpiriesPerSweep);
  const auto now = std::chrono::steady_clock::now();
  for (core::AppIndex app = 0; app < app_ids_.size(); ++app) {
    for (unsigned p = 0; p < RedisKeys::kHeartbeatPartitions; ++p) {
      const ExpiryPartition& partition = partitions_[app][p];
      if (partition.quiet_until > now) continue;
      run_script(claim_dead_nodes_script(), {partition.due, partition.claimed}, {claim, limit},
                 [this, app, p, now](Result result) {
                   const Reply* reply = reply_of(result);
                   if (!reply) return;
                   for (const auto& entry : reply->elements) {
                     if (entry.is_string()) expire_tab(app, p, entry.text);
                   }
                   const bool empty = !reply->elements.empty() &&
                                      reply->elements.back().type == Reply::Type::Integer &&
                                      reply->elements.back().integer == 0;
                   // Not when this node wrote to it since the sweep was sent.
                   auto& sweep = partitions_[app][p];
                   if (empty && sweep.written < now) sweep.quiet_until = now + kQuietPartition;
                 });
    }
  }
}

void RedisEngine::expire_tab(core::AppIndex app, unsigned partition, std::string entry) {
  std::string user, tab, tag;
  std::string_view app_id, channel;
  const std::string& claimed = partitions_[app][partition].claimed;
  if (!parse_entry(entry, user, tab, tag) || !split_tag(tag, app_id, channel) ||
      app_id != app_ids_[app]) {
    const std::string_view zrem[] = {"ZREM", claimed, entry};
    return client_->command(claimed, zrem, [](Result) {});
  }
  end_tab(app, std::string(channel), user, tab, "expire", 0, 0,
          [this, app, partition, entry, claimed](const Reply* reply) {
            if (!reply) return;  // claimed still: taken over after the claim
            if (text_at(*reply, 0) == "wait") {
              // Pinged since: looked at again when it is due.
              const std::string& due = partitions_[app][partition].due;
              const std::string score = std::to_string(integer_at(*reply, 1));
              const std::string_view zadd[] = {"ZADD", due, "GT", score, entry};
              client_->command(due, zadd, [](Result) {});
            }
            const std::string_view zrem[] = {"ZREM", claimed, entry};
            client_->command(claimed, zrem, [](Result) {});
          });
}

}  // namespace greendot::engine::redis_engine
