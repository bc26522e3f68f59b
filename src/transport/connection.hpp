// Connection: one client on the Pusher protocol, from the completed WebSocket handshake to
// the last byte: the WebSocket side (reads, writes, close, liveness, slow consumers). What the
// Pusher messages mean is the PusherSession it carries (session/pusher_session.hpp).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/liveness_tracker.hpp"
#include "protocol/websocket_frame.hpp"
#include "session/pusher_session.hpp"
#include "session/session_transport.hpp"
#include "transport/connection_slots.hpp"
#include "transport/local_fanout.hpp"
#include "transport/outbound_queue.hpp"
#include "transport/shard.hpp"
#include "transport/shard_socket.hpp"

namespace greendot::transport {

class Connection final : public std::enable_shared_from_this<Connection>,
                         public FrameSink,
                         public session::SessionTransport,
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

  Connection(Shard& shard, ShardSocket socket, ConnectionSlot slot);
  ~Connection();

  void send_frame(const engine::SharedFrame& frame) override;
  protocol::SocketId socket_id() const override {
    return pusher_ ? pusher_->socket_id() : protocol::SocketId{};
  }
  bool is_member_as(std::string_view channel, std::string_view user_id) const override;
  bool joined_after(std::string_view channel, std::uint64_t number) const override;

  // The session's way out (session::SessionTransport).
  void send_text(std::string_view text) override;
  void send_answer(std::string_view text) override;
  std::size_t unread_answer_bytes() const override { return outbound_.answer_bytes(); }
  // Sends a WebSocket close (after `pusher:error` for Pusher codes) and ends the connection.
  void close(std::uint16_t code, std::string_view reason) override;
  void overflow() override;
  Poster poster() override;
  void listen(core::AppIndex app, std::string_view channel) override;
  void stop_listening(core::AppIndex app, std::string_view channel) override;
  void signed_in_as(core::AppIndex app, const std::string& user) override;
  void signed_out_as(core::AppIndex app, const std::string& user) override;

  // The liveness tracker's ping of a silent client.
  void send_ping();
  // The liveness tracker found no reply to the ping: the client is gone.
  void expire();
  // Writes what is queued, as far as the socket takes it now (the shard's flush pass).
  void flush();

 private:
  // WebSocket side.
  void open(std::string_view app_key, std::string_view protocol_version, bool has_protocol,
            std::string pending);
  void wait_readable();
  void on_readable();
  void drain();
  void consume(std::string_view bytes);
  void enqueue(engine::SharedFrame frame);
  void request_flush();
  void wait_writable();
  void drop_as_slow_consumer();
  void bound_close();
  void finish();

  void send_error(std::string_view message);

  Shard& shard_;
  ShardSocket socket_;
  ConnectionSlot slot_;
  protocol::websocket::FrameParser parser_;
  OutboundQueue outbound_;
  // Bounds how long a slow consumer's close frame may wait for room in the socket.
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;
  // From pusher:connection_established on (once the app is known); it holds the socket id
  // and the app, and while it exists the connection holds one of the app's connection slots.
  std::optional<session::PusherSession> pusher_;
  bool closing_ = false;           // the close frame is queued; nothing more is sent or read
  bool overflowed_ = false;        // dropped as a slow consumer; nothing more is queued
  bool finished_ = false;          // torn down
  bool flush_requested_ = false;   // on the shard's list for its next flush pass
  bool waiting_writable_ = false;  // the socket's buffer was full; a write wait is pending
};

}  // namespace greendot::transport
