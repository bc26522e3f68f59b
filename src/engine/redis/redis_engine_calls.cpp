// The PresenceEngine and Broker calls of the Redis engine: each is posted to the engine's
// thread, where redis_engine.cpp does the work.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <future>

#include "engine/redis/channel_event.hpp"
#include "engine/redis/redis_engine.hpp"

namespace greendot::engine::redis_engine {

namespace asio = boost::asio;
using redis::Reply;
using redis::Result;

namespace {

// The text inside a server's WebSocket text frame (2, 4 or 10 header bytes, unmasked).
std::string_view frame_text(const std::string& frame) {
  if (frame.size() < 2) return {};
  const unsigned length = static_cast<unsigned char>(frame[1]) & 0x7f;
  const std::size_t header = length < 126 ? 2 : length == 126 ? 4 : 10;
  return std::string_view(frame).substr(std::min(header, frame.size()));
}

}  // namespace

// Local subscribers get it at once, from the publishing thread, as on one node; the other
// nodes through Redis. While Redis is out of reach only the local ones do (counted, logged).
void RedisEngine::publish(ChannelMessage message) {
  auto shared = std::make_shared<const ChannelMessage>(std::move(message));
  for (MessageSink* sink : sinks_) sink->deliver(shared);
  asio::post(io_, [this, shared] {
    if (!client_->up()) {
      const auto lost = messages_not_shared_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (lost % 1000 == 1) {
        spdlog::warn("Redis is out of reach: {} messages reached this node's subscribers only",
                     lost);
      }
      return;
    }
    const std::string events = keys_.events(app_ids_[shared->app], shared->channel);
    const std::string except =
        shared->except == protocol::SocketId{} ? std::string() : shared->except.to_string();
    const std::string payload = encode_message(node_, except, shared->joined_after,
                                               shared->except_user, frame_text(*shared->frame));
    const std::string_view args[] = {publish_command(), events, payload};
    client_->command(events, args, [](Result) {});
  });
}

void RedisEngine::terminate_everywhere(core::AppIndex app, const std::string& user) {
  if (terminate_) terminate_(app, user);
  asio::post(io_, [this, app, user] {
    const std::string channel = keys_.control();
    const std::string payload = encode_terminate(node_, app_ids_[app], user);
    const std::string_view args[] = {publish_command(), channel, payload};
    client_->command(channel, args, [](Result) {});
  });
}

void RedisEngine::join(JoinRequest request, JoinCallback done) {
  asio::post(io_, [this, request = std::move(request), done = std::move(done)]() mutable {
    if (stopping_ || !ready()) return done(JoinOutcome{JoinStatus::Unavailable, {}, 0});
    LocalChannel& channel = local(request.app, request.channel);
    const std::string except =
        request.socket == protocol::SocketId{} ? std::string() : request.socket.to_string();
    begin_session(channel, request.session, std::move(request.user_id),
                  std::move(request.user_info), request.max_members, except, std::move(done));
  });
}

void RedisEngine::leave(core::AppIndex app, std::string_view channel, std::string_view,
                        core::SessionId session, core::Millis grace_ms) {
  asio::post(io_, [this, tag = RedisKeys::tag(app_ids_[app], channel), session, grace_ms] {
    if (!stopping_) end_session(tag, session, grace_ms);
  });
}

// A subscription is a session without a user: counted in Redis, swept with its node.
void RedisEngine::subscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                             std::function<void()> in_place) {
  asio::post(io_, [this, app, name = std::string(channel), session,
                   in_place = std::move(in_place)]() mutable {
    if (stopping_) return;
    LocalChannel& channel = local(app, name);
    // Held before it is written: a command failing at once must not find the channel idle.
    channel.sessions.try_emplace(session);
    // Told once this node hears the channel; its count in Redis needs no waiting for.
    if (in_place) when_listening(channel, std::move(in_place));
    // Delivered locally all the same; counted in Redis once it is back.
    if (!ready()) return held_unwritten(channel, session);
    begin_session(channel, session, {}, {}, 0, {}, nullptr);
  });
}

void RedisEngine::unsubscribed(core::AppIndex app, std::string_view channel,
                               core::SessionId session, core::Millis grace_ms) {
  leave(app, channel, {}, session, grace_ms);
}

void RedisEngine::channel_stats(core::AppIndex app, std::vector<std::string> channels,
                                StatsCallback done) {
  asio::post(io_, [this, app, channels = std::move(channels), done = std::move(done)] {
    if (!ready()) return done(std::nullopt);
    auto stats = std::make_shared<std::vector<ChannelStats>>(channels.size());
    auto left = std::make_shared<std::size_t>(channels.size());
    auto failed = std::make_shared<bool>(false);
    if (channels.empty()) return done(std::vector<ChannelStats>{});
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const ChannelKeys keys = keys_.channel(app_ids_[app], channels[i], node_);
      run_script(stats_script(), {keys.keys[4], keys.keys[0], keys.keys[6], keys.keys[8]}, {},
                 [stats, left, failed, i, done](Result result) {
                   const auto* reply = std::get_if<Reply>(&result);
                   if (!reply || reply->is_error() || reply->elements.size() != 3) {
                     *failed = true;
                   } else {
                     auto& s = (*stats)[i];
                     s.subscription_count = static_cast<std::uint32_t>(
                         std::max<std::int64_t>(0, reply->elements[0].integer));
                     s.user_count = static_cast<std::uint32_t>(reply->elements[1].integer);
                     s.occupied = s.subscription_count > 0 || s.user_count > 0 ||
                                  reply->elements[2].integer == 1;
                   }
                   if (--*left != 0) return;
                   if (*failed) return done(std::nullopt);
                   done(std::move(*stats));
                 });
    }
  });
}

// Occupied channels are listed in a set per app, kept by the nodes whose scripts occupy and
// vacate them; each entry is checked against the channel's own counts before it is answered.
void RedisEngine::list_channels(core::AppIndex app, std::string prefix, ListingCallback done) {
  asio::post(io_, [this, app, prefix = std::move(prefix), done = std::move(done)]() mutable {
    if (!ready()) return done(std::nullopt);
    const std::string list = keys_.app_channels(app_ids_[app]);
    const std::string_view args[] = {"SMEMBERS", list};
    client_->command(list, args, [this, app, prefix, done = std::move(done)](Result result) {
      const auto* reply = std::get_if<Reply>(&result);
      if (!reply || reply->is_error()) return done(std::nullopt);
      std::vector<std::string> names;
      for (const auto& name : reply->elements) {
        if (name.is_string() && name.text.starts_with(prefix)) names.push_back(name.text);
      }
      channel_stats(app, names, [names, done](Answer<std::vector<ChannelStats>> stats) {
        if (!stats) return done(std::nullopt);
        std::vector<ChannelListing> listing;
        for (std::size_t i = 0; i < names.size(); ++i) {
          if ((*stats)[i].occupied) listing.push_back(ChannelListing{names[i], (*stats)[i]});
        }
        done(std::move(listing));
      });
    });
  });
}

void RedisEngine::channel_users(core::AppIndex app, std::string channel, UsersCallback done) {
  asio::post(io_, [this, app, channel = std::move(channel), done = std::move(done)] {
    if (!ready()) return done(std::nullopt);
    // The members others see (invisible ones are not listed).
    const ChannelKeys keys = keys_.channel(app_ids_[app], channel, node_);
    run_script(members_script(), {keys.keys[0], keys.keys[3], keys.keys[8], keys.keys[2]}, {},
               [done](Result result) {
                 const auto* reply = std::get_if<Reply>(&result);
                 if (!reply || reply->is_error() || reply->elements.size() != 4) {
                   return done(std::nullopt);
                 }
                 const auto& list = reply->elements[2].elements;
                 std::vector<std::string> users;
                 users.reserve(list.size() / 2);
                 for (std::size_t i = 0; i + 1 < list.size(); i += 2) users.push_back(list[i].text);
                 done(std::move(users));
               });
  });
}

// Graces and copies run on the engine's own timers, by Redis's clock.
void RedisEngine::tick(core::Millis) {}

// Everything of this node ends now, on every node: its members leave (with member_removed to
// the other nodes' subscribers and the webhooks), its lease is given up. Waited for, within a
// bound, so that a stopping node leaves nothing behind for the sweepers.
void RedisEngine::shut_down() {
  auto finished = std::make_shared<std::promise<void>>();
  auto future = finished->get_future();
  asio::post(io_, [this, finished] {
    stopping_ = true;
    if (!ready()) return finished->set_value();
    auto left = std::make_shared<std::size_t>(channels_.size() + 1);
    auto one_done = [this, left, finished](bool) {
      if (--*left != 0) return;
      const std::string live = keys_.live_nodes();
      const std::string list = keys_.node_channels(node_);
      const std::string_view zrem[] = {"ZREM", live, node_};
      client_->command(live, zrem, [](Result) {});
      const std::string_view del[] = {"DEL", list};
      client_->command(list, del, [finished](Result) { finished->set_value(); });
    };
    for (const auto& tag : tags()) sweep_channel(tag, node_, one_done);
    one_done(true);
  });
  if (future.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
    spdlog::warn(
        "Redis did not confirm this node's departure in time; the others sweep it "
        "when its lease ends");
  }
}

}  // namespace greendot::engine::redis_engine
