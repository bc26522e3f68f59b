// Connection: one client on the Pusher protocol, from the completed WebSocket handshake to
// the last byte. The WebSocket side (reads, writes, close) is in connection.cpp; what the
// Pusher messages mean is in connection_pusher.cpp.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel_name.hpp"
#include "core/liveness_tracker.hpp"
#include "core/rate_limiter.hpp"
#include "engine/presence_engine.hpp"
#include "protocol/pusher_messages.hpp"
#include "protocol/websocket_frame.hpp"
#include "transport/connection_slots.hpp"
#include "transport/local_fanout.hpp"
#include "transport/outbound_queue.hpp"
#include "transport/shard.hpp"

namespace greendot::transport {

class Connection final : public std::enable_shared_from_this<Connection>,
                         public FrameSink,
                         public core::LivenessEntry,
                         public ConnectionListHook {
 public:
  // Takes over a socket whose handshake response has been sent. `app_key` and `query` come
  // from the request target; `pending` are bytes the client sent after its request.
  // A `slot` over a connection limit makes it close at once with 4100 (the server is full:
  // pusher-js retries later) or 4004 (too many from this address: pusher-js stops).
  static void start(Shard& shard, boost::asio::ip::tcp::socket socket, ConnectionSlot slot,
                    std::string_view app_key, std::string_view protocol_version, bool has_protocol,
                    std::string pending);

  Connection(Shard& shard, boost::asio::ip::tcp::socket socket, ConnectionSlot slot);
  ~Connection();

  void send_frame(const engine::SharedFrame& frame) override;
  protocol::SocketId socket_id() const override { return socket_id_; }
  bool is_member_as(std::string_view channel, std::string_view user_id) const override;
  bool joined_after(std::string_view channel, std::uint64_t number) const override;

  // Sends a WebSocket close (after `pusher:error` for Pusher codes) and ends the connection.
  void close(std::uint16_t code, std::string_view reason);
  // The liveness tracker's ping of a silent client.
  void send_ping();
  // The liveness tracker found no reply to the ping: the client is gone.
  void expire();
  // Writes what is queued, as far as the socket takes it now (the shard's flush pass).
  void flush();

 private:
  struct Subscription {
    std::string channel;
    core::ChannelKind kind;
    std::string user_id;            // presence: the member this connection is
    std::uint32_t join_id = 0;      // presence: non-zero while the engine has not answered
    std::uint64_t join_number = 0;  // presence: the engine's number for the join, once answered
  };

  // WebSocket side.
  void open(std::string_view app_key, std::string_view protocol_version, bool has_protocol,
            std::string pending);
  void wait_readable();
  void on_readable();
  void drain();
  void consume(std::string_view bytes);
  void send_text(std::string_view text);
  void send_answer(std::string_view text);
  void enqueue(engine::SharedFrame frame);
  void overflow();
  void request_flush();
  void wait_writable();
  void drop_as_slow_consumer();
  void bound_close();
  void finish();
  void leave_everything();

  // Pusher side.
  void on_message(std::string_view text);
  void handle_subscribe(const boost::json::value& data);
  void subscribe_presence(std::string channel, const protocol::pusher::SubscribeRequest& request);
  void on_joined(std::uint32_t join_id, engine::JoinOutcome outcome);
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

  Shard& shard_;
  boost::asio::ip::tcp::socket socket_;
  ConnectionSlot slot_;
  protocol::websocket::FrameParser parser_;
  OutboundQueue outbound_;
  // Bounds how long a slow consumer's close frame may wait for room in the socket.
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;
  std::vector<Subscription> subscriptions_;
  std::string signed_in_user_;
  std::vector<std::string> watchlist_;  // of the signed-in user, on this connection
  protocol::SocketId socket_id_;
  core::SessionId session_ = 0;
  core::AppIndex app_index_ = 0;
  core::RateLimiter client_events_;
  std::uint32_t next_join_id_ = 0;
  bool counted_ = false;           // holds one of the app's connection slots
  bool closing_ = false;           // the close frame is queued; nothing more is sent or read
  bool overflowed_ = false;        // dropped as a slow consumer; nothing more is queued
  bool finished_ = false;          // torn down
  bool flush_requested_ = false;   // on the shard's list for its next flush pass
  bool waiting_writable_ = false;  // the socket's buffer was full; a write wait is pending
};

}  // namespace greendot::transport
