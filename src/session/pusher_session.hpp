// PusherSession: what the Pusher messages of one connection mean, from
// pusher:connection_established to the close: subscriptions, presence, client events,
// sign-in, watchlists and greendot:status. It owns no socket: it reads messages, talks to the
// engine, the broker and the webhooks, and answers through its SessionTransport. The wire
// formats are in protocol/pusher_messages; the rules are in docs/protocol.md.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel_name.hpp"
#include "core/rate_limiter.hpp"
#include "engine/presence_engine.hpp"
#include "protocol/pusher_messages.hpp"
#include "protocol/socket_id.hpp"
#include "server/server_context.hpp"
#include "session/session_transport.hpp"

namespace greendot::session {

class PusherSession {
 public:
  PusherSession(SessionTransport& transport, server::ServerContext& context, core::AppIndex app,
                protocol::SocketId socket_id, core::SessionId session);

  // One text message from the client.
  void on_message(std::string_view text);
  // The connection is closing: every channel is left and the sign-in ends, at once.
  void leave_everything();

  // For the fan-out (see transport::FrameSink).
  bool is_member_as(std::string_view channel, std::string_view user_id) const;
  bool joined_after(std::string_view channel, std::uint64_t number) const;

  protocol::SocketId socket_id() const { return socket_id_; }
  core::AppIndex app_index() const { return app_index_; }
  const std::string& signed_in_user() const { return signed_in_user_; }
  std::size_t subscription_count() const { return subscriptions_.size(); }

 private:
  struct Subscription {
    std::string channel;
    core::ChannelKind kind;
    std::string user_id;            // presence: the member this connection is
    std::uint32_t join_id = 0;      // non-zero while the engine has not answered
    std::uint64_t join_number = 0;  // presence: the engine's number for the join, once answered
  };

  void handle_subscribe(const boost::json::value& data);
  void subscribe_presence(std::string channel, const protocol::pusher::SubscribeRequest& request);
  void on_joined(std::uint32_t join_id, engine::JoinOutcome outcome);
  void on_subscribed(std::uint32_t join_id);
  void handle_unsubscribe(const boost::json::value& data);
  void handle_signin(const boost::json::value& data);
  void handle_client_event(protocol::pusher::ClientMessage& message);
  void handle_status(const boost::json::value& data);
  void refuse_subscription(std::string_view channel, std::string_view type,
                           std::string_view message, int status);
  void send_error(std::string_view message, std::uint16_t code = 0);
  void leave(const Subscription& subscription);
  Subscription* find_subscription(std::string_view channel);
  const config::AppConfig& app() const;

  SessionTransport& transport_;
  server::ServerContext& context_;
  // In an order that leaves no padding: a connection holds one of these.
  const core::AppIndex app_index_;
  std::uint32_t next_join_id_ = 0;
  const protocol::SocketId socket_id_;
  const core::SessionId session_;
  std::vector<Subscription> subscriptions_;
  std::string signed_in_user_;
  std::vector<std::string> watchlist_;  // of the signed-in user, on this connection
  core::RateLimiter client_events_;
};

}  // namespace greendot::session
