#include "session/pusher_session.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include "auth/channel_auth.hpp"

namespace greendot::session {

namespace pusher = protocol::pusher;
using core::ChannelKind;

namespace {

constexpr std::size_t kMaxClientEventNameLength = 200;

template <class T>
const pusher::Problem* problem_of(const pusher::Parsed<T>& parsed) {
  return std::get_if<pusher::Problem>(&parsed);
}

}  // namespace

PusherSession::PusherSession(SessionTransport& transport, server::ServerContext& context,
                             core::AppIndex app, protocol::SocketId socket_id,
                             core::SessionId session)
    : transport_(transport),
      context_(context),
      app_index_(app),
      socket_id_(socket_id),
      session_(session) {}

const config::AppConfig& PusherSession::app() const {
  return context_.apps.app(app_index_);
}

// A closing connection is gone as far as presence is concerned, even if its peer keeps the
// TCP connection open for a while: the others are told now, not at the liveness timeout.
void PusherSession::leave_everything() {
  for (const auto& subscription : subscriptions_) leave(subscription);
  subscriptions_.clear();
  if (signed_in_user_.empty()) return;
  auto& engine = context_.engine;
  if (!watchlist_.empty()) {
    transport_.stop_listening(app_index_, engine::watchlist_channel(signed_in_user_));
    engine.unwatch(app_index_, signed_in_user_, std::move(watchlist_));
    watchlist_.clear();
  }
  transport_.signed_out_as(app_index_, signed_in_user_);
  // A reload is a close and a new connection a moment later: the grace hides it from watchers.
  engine.signed_out(app_index_, signed_in_user_, session_, app().offline_grace_ms);
  signed_in_user_.clear();
}

void PusherSession::send_error(std::string_view message, std::uint16_t code) {
  transport_.send_text(pusher::error(code, message));
}

void PusherSession::refuse_subscription(std::string_view channel, std::string_view type,
                                        std::string_view message, int status) {
  transport_.send_text(pusher::subscription_error(channel, type, message, status));
}

bool PusherSession::is_member_as(std::string_view channel, std::string_view user_id) const {
  return std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const Subscription& s) {
    return s.channel == channel && s.user_id == user_id;
  });
}

bool PusherSession::joined_after(std::string_view channel, std::uint64_t number) const {
  return std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const Subscription& s) {
    return s.channel == channel && s.join_number > number;
  });
}

PusherSession::Subscription* PusherSession::find_subscription(std::string_view channel) {
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const Subscription& s) { return s.channel == channel; });
  return it == subscriptions_.end() ? nullptr : &*it;
}

void PusherSession::on_message(std::string_view text) {
  auto parsed = pusher::parse_client_message(text);
  if (const auto* problem = problem_of(parsed)) return send_error(problem->message);
  auto& message = std::get<pusher::ClientMessage>(parsed);
  const std::string& event = message.event;
  if (event == "pusher:ping") return transport_.send_text(pusher::pong());
  if (event == "pusher:pong") return;  // any message already counted as activity
  if (event == "pusher:subscribe") return handle_subscribe(message.data);
  if (event == "pusher:unsubscribe") return handle_unsubscribe(message.data);
  if (event == "pusher:signin") return handle_signin(message.data);
  if (event.starts_with("client-")) return handle_client_event(message);
  if (event == "greendot:status") return handle_status(message.data);
  if (event.starts_with("pusher:")) return send_error("Unknown event " + event);
  send_error("Unknown event " + event +
             ": clients may send pusher: events and client- events only");
}

void PusherSession::handle_subscribe(const boost::json::value& data) {
  auto parsed = pusher::read_subscribe(data);
  if (const auto* problem = problem_of(parsed)) return send_error(problem->message);
  auto& request = std::get<pusher::SubscribeRequest>(parsed);
  const std::string& channel = request.channel;

  auto kind = core::classify_channel(channel);
  if (!kind) {
    return refuse_subscription(channel, "InvalidChannel",
                               "Channel names are 1 to 164 characters from [A-Za-z0-9_-=@,.;]",
                               400);
  }
  if (find_subscription(channel)) {
    return refuse_subscription(channel, "AlreadySubscribed",
                               "This connection is already subscribed to " + channel, 409);
  }
  if (subscriptions_.size() >= app().max_channels_per_connection) {
    return refuse_subscription(channel, "LimitReached",
                               "A connection may subscribe to at most " +
                                   std::to_string(app().max_channels_per_connection) + " channels",
                               4100);
  }
  if (*kind == ChannelKind::ServerToUser) {
    if (signed_in_user_.empty() ||
        channel.substr(core::kServerToUserPrefix.size()) != signed_in_user_) {
      return refuse_subscription(channel, "AuthError",
                                 "Only the connection signed in as this user may subscribe", 401);
    }
  }
  if (*kind == ChannelKind::Presence) return subscribe_presence(channel, request);
  if (core::needs_authorization(*kind)) {
    if (!auth::subscription_authorized(app(), socket_id_.to_string(), channel, request.auth)) {
      return refuse_subscription(channel, "AuthError", "Invalid signature for " + channel, 401);
    }
  }
  // Confirmed once this node hears the channel from every node (at once with one node).
  const std::uint32_t join_id = ++next_join_id_;
  subscriptions_.push_back(Subscription{channel, *kind, {}, join_id});
  context_.engine.subscribed(app_index_, channel, session_,
                             [this, post = transport_.poster(), join_id] {
                               post([this, join_id] { on_subscribed(join_id); });
                             });
}

void PusherSession::on_subscribed(std::uint32_t join_id) {
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const Subscription& s) { return s.join_id == join_id; });
  if (it == subscriptions_.end()) return;  // unsubscribed meanwhile; the engine was told then
  it->join_id = 0;
  transport_.listen(app_index_, it->channel);
  transport_.send_text(pusher::subscription_succeeded(it->channel));
}

void PusherSession::subscribe_presence(std::string channel,
                                       const pusher::SubscribeRequest& request) {
  const auto& config = app();
  if (!request.channel_data) {
    return refuse_subscription(channel, "InvalidChannelData", "Presence channels need channel_data",
                               400);
  }
  if (!auth::presence_authorized(config, socket_id_.to_string(), channel, *request.channel_data,
                                 request.auth)) {
    return refuse_subscription(channel, "AuthError", "Invalid signature for " + channel, 401);
  }
  auto identity = pusher::parse_channel_data(*request.channel_data, config.max_user_id_length,
                                             config.max_user_info_bytes);
  if (identity.error == pusher::IdentityError::UserInfoTooLarge) {
    return refuse_subscription(channel, "UserInfoTooLarge", identity.message, 413);
  }
  if (identity.error != pusher::IdentityError::None) {
    return refuse_subscription(channel, "InvalidChannelData", identity.message, 400);
  }

  // A client that has not taken the member lists it was sent already is not reading: it is
  // let go before it joins, so that nobody is told it came, rather than handed one more list.
  if (transport_.unread_answer_bytes() > context_.settings.max_outbound_bytes)
    return transport_.overflow();

  const std::uint32_t join_id = ++next_join_id_;
  subscriptions_.push_back(
      Subscription{channel, ChannelKind::Presence, identity.identity.user_id, join_id});
  engine::JoinRequest join{app_index_,
                           std::move(channel),
                           std::move(identity.identity.user_id),
                           std::move(identity.identity.user_info),
                           session_,
                           socket_id_,
                           config.max_presence_members};
  // The answer comes back on this connection's thread, and only while it is open.
  context_.engine.join(std::move(join),
                       [this, post = transport_.poster(), join_id](engine::JoinOutcome outcome) {
                         post([this, join_id, outcome = std::move(outcome)]() mutable {
                           on_joined(join_id, std::move(outcome));
                         });
                       });
}

void PusherSession::on_joined(std::uint32_t join_id, engine::JoinOutcome outcome) {
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const Subscription& s) { return s.join_id == join_id; });
  if (it == subscriptions_.end()) return;  // unsubscribed meanwhile; the leave was sent then
  if (!outcome.accepted()) {
    std::string channel = std::move(it->channel);
    subscriptions_.erase(it);
    if (outcome.status == engine::JoinStatus::Unavailable) {
      // Not the channel's fault: the client may subscribe again in a moment.
      return refuse_subscription(channel, "ServiceUnavailable",
                                 "Presence is unavailable right now; subscribe again shortly", 503);
    }
    return refuse_subscription(channel, "LimitReached",
                               "The channel has reached its limit of " +
                                   std::to_string(app().max_presence_members) + " members",
                               4100);
  }
  it->join_id = 0;
  it->join_number = outcome.join_number;
  transport_.listen(app_index_, it->channel);
  transport_.send_answer(
      pusher::presence_subscription_succeeded(it->channel, outcome.presence_data));
}

void PusherSession::leave(const Subscription& subscription) {
  if (subscription.join_id == 0) transport_.stop_listening(app_index_, subscription.channel);
  auto& engine = context_.engine;
  if (subscription.kind == ChannelKind::Presence) {
    // Also for a join the engine has not answered yet: it has the session already.
    engine.leave(app_index_, subscription.channel, subscription.user_id, session_,
                 app().offline_grace_ms);
  } else {
    engine.unsubscribed(app_index_, subscription.channel, session_, app().offline_grace_ms);
  }
}

void PusherSession::handle_unsubscribe(const boost::json::value& data) {
  auto parsed = pusher::read_unsubscribe(data);
  if (const auto* problem = problem_of(parsed)) return send_error(problem->message);
  const auto& channel = std::get<std::string>(parsed);
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const Subscription& s) { return s.channel == channel; });
  if (it == subscriptions_.end()) return send_error("Not subscribed to " + channel);
  leave(*it);
  subscriptions_.erase(it);
}

void PusherSession::handle_signin(const boost::json::value& data) {
  const auto& config = app();
  if (!config.user_authentication) {
    return transport_.close(4009, "User authentication is disabled for this app");
  }
  // Malformed input is answered like any bad message; a well-formed sign-in that fails is
  // refused with 4009, as Pusher does.
  if (!data.is_object()) return send_error("The data of pusher:signin must be an object");
  auto parsed = pusher::read_signin(data);
  if (const auto* problem = problem_of(parsed)) return transport_.close(4009, problem->message);
  const auto& request = std::get<pusher::SigninRequest>(parsed);
  if (!auth::signin_authorized(config, socket_id_.to_string(), request.user_data, request.auth)) {
    return transport_.close(4009, "Invalid signature for pusher:signin");
  }
  auto parsed_user = pusher::parse_user_data(request.user_data, config.max_user_id_length);
  if (const auto* problem = problem_of(parsed_user))
    return transport_.close(4009, problem->message);
  auto& user = std::get<pusher::UserData>(parsed_user);
  if (!signed_in_user_.empty() && signed_in_user_ != user.id) {
    return transport_.close(4009, "This connection is already signed in as another user");
  }
  transport_.send_text(pusher::signin_success(request.user_data));
  if (!signed_in_user_.empty()) return;  // signed in again as the same user: nothing changes
  signed_in_user_ = std::move(user.id);
  transport_.signed_in_as(app_index_, signed_in_user_);
  auto& engine = context_.engine;
  engine.signed_in(app_index_, signed_in_user_, session_);
  if (user.watchlist.empty()) return;
  if (user.watchlist.size() > config.max_watchlist_size) {
    user.watchlist.resize(config.max_watchlist_size);
    send_error("Watchlist limit exceeded. Only the first " +
                   std::to_string(config.max_watchlist_size) + " user IDs are accepted",
               4302);
  }
  watchlist_ = std::move(user.watchlist);
  // With max_watchlist_size = 0 nothing is left to watch, so nothing is registered:
  // leave_everything() unregisters a non-empty watchlist only.
  if (watchlist_.empty()) return;
  // Listening first, then registering: every change after the answer below reaches us.
  transport_.listen(app_index_, engine::watchlist_channel(signed_in_user_));
  engine.watch(app_index_, signed_in_user_, watchlist_,
               [this, post = transport_.poster()](std::vector<std::string> online) {
                 post([this, online = std::move(online)] {
                   if (!online.empty())
                     transport_.send_text(pusher::watchlist_event("online", online));
                 });
               });
}

// greendot's own: {"event":"greendot:status","data":{"status":"away"}} from a page whose tab
// is hidden or idle. The user is the signed-in one, else the member of a presence channel.
void PusherSession::handle_status(const boost::json::value& data) {
  const auto* object = data.if_object();
  const auto* status = object ? object->if_contains("status") : nullptr;
  const bool away = status && status->is_string() && status->get_string() == "away";
  const bool online = status && status->is_string() && status->get_string() == "online";
  if (!away && !online) {
    return send_error("greendot:status needs data.status \"online\" or \"away\"");
  }
  std::string user = signed_in_user_;
  for (const auto& s : subscriptions_) {
    if (user.empty() && s.kind == ChannelKind::Presence && s.join_id == 0) user = s.user_id;
  }
  if (user.empty()) {
    return send_error("greendot:status needs pusher:signin or a presence channel first");
  }
  // The status is this connection's: another tab of the user may still be online.
  context_.engine.set_status(app_index_, user, session_,
                             away ? engine::UserStatus::Away : engine::UserStatus::Online);
}

void PusherSession::handle_client_event(pusher::ClientMessage& message) {
  const auto& config = app();
  if (!message.channel) return send_error("Client events need a \"channel\"");
  const std::string& channel = *message.channel;
  if (!config.client_events) {
    return send_error("Client events are disabled for this app", 4301);
  }
  const Subscription* subscription = find_subscription(channel);
  if (!subscription || subscription->join_id != 0) {
    return send_error("Client events need a subscription to " + channel);
  }
  if (subscription->kind != ChannelKind::Private && subscription->kind != ChannelKind::Presence) {
    return send_error("Client events are only allowed on private- and presence- channels");
  }
  if (message.event.size() > kMaxClientEventNameLength) {
    return send_error("Event names are at most 200 characters");
  }
  if (!client_events_.try_acquire(config.client_events_per_second, server::now_ms())) {
    return send_error("Client event rejected: more than " +
                          std::to_string(config.client_events_per_second) +
                          " client events per second",
                      4301);
  }
  const std::string data = boost::json::serialize(message.data);
  context_.broker.publish(
      engine::ChannelMessage{app_index_,
                             channel,
                             engine::make_text_frame(pusher::channel_event(
                                 message.event, channel, data, subscription->user_id)),
                             socket_id_,
                             {}});
  auto& webhooks = context_.webhooks;
  if (!webhooks.wants(app_index_, webhooks::EventType::ClientEvent)) return;
  // Pusher reports client event data as a string: as sent when it was one, else its JSON.
  const std::string data_text =
      message.data.is_string() ? std::string(message.data.get_string()) : data;
  webhooks.emit(app_index_, webhooks::EventType::ClientEvent,
                webhooks::client_event_json(channel, message.event, data_text,
                                            socket_id_.to_string(), subscription->user_id));
}

}  // namespace greendot::session
