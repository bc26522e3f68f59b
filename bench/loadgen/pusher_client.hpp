// One asynchronous Pusher protocol 7 client: a raw HTTP upgrade, then masked WebSocket frames
// out and the project's own frame parser in. It tells its owner what happened through
// ClientEvents and keeps only the counters the scenarios need.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/websocket_frame.hpp"

namespace bench {

class PusherClient;

class ClientEvents {
 public:
  virtual std::span<char> read_buffer() = 0;
  virtual void on_established(PusherClient& client) = 0;
  virtual void on_subscribed(PusherClient& client) = 0;
  virtual void on_member_added(PusherClient& client) = 0;
  virtual void on_member_removed(PusherClient& client, std::string_view text) = 0;
  virtual void on_channel_event(PusherClient& client, std::string_view text) = 0;
  // The connection is over; `clean` when we asked for it (close handshake or abort).
  virtual void on_closed(PusherClient& client, bool clean, std::string_view why) = 0;

 protected:
  ~ClientEvents() = default;
};

struct Credentials {
  std::string key;
  std::string secret;
};

class PusherClient {
 public:
  PusherClient(boost::asio::io_context& io, ClientEvents& events, std::uint32_t id);

  // Connects from `source` (port chosen by the kernel per destination), upgrades and waits
  // for pusher:connection_established.
  void open(const boost::asio::ip::tcp::endpoint& server, const boost::asio::ip::address& source,
            const std::string& app_key);
  // Subscribes with a valid signature: presence channels as `user_id`.
  void subscribe(const Credentials& app, const std::string& channel, const std::string& user_id);
  void send_text(std::string_view text);
  // Close handshake: a close frame, then wait for the server's close or EOF.
  void close();
  // Drops the TCP connection without a close frame.
  void abort();

  std::uint32_t id() const { return id_; }
  bool is_open() const { return state_ == State::Open; }
  // Between open() and the end of the connection (closing included).
  bool active() const { return state_ != State::Idle && state_ != State::Closed; }
  const std::string& socket_id() const { return socket_id_; }

  // Members this client knows of in its presence channel: the snapshot, then member_added.
  std::uint64_t members_known = 0;
  std::uint64_t frames_received = 0;
  std::int64_t opened_at_ns = 0;
  bool subscribed = false;
  // With receive timestamps on (SO_TIMESTAMPNS): when the kernel queued the last segment of the
  // current read, on CLOCK_MONOTONIC; 0 when unknown. On loopback the segment is queued inside
  // the server's sendmsg, so this is the server's write time.
  std::int64_t rx_kernel_ns = 0;

  // Process-wide: ask the kernel for receive timestamps on sockets opened from now on.
  static void enable_rx_timestamps();

 private:
  enum class State { Idle, Connecting, Handshake, Open, Closing, Closed };

  void on_connected(const boost::system::error_code& ec);
  void read_handshake();
  void wait_readable();
  void on_readable();
  std::size_t read_some(std::span<char> buffer, boost::system::error_code& ec);
  void consume(std::string_view bytes);
  void on_text(std::string_view text);
  void flush();
  void fail(std::string_view why);
  void finish(bool clean, std::string_view why);

  ClientEvents& events_;
  boost::asio::ip::tcp::socket socket_;
  greendot::protocol::websocket::FrameParser parser_;
  std::string handshake_;  // response head while upgrading
  std::string out_;        // frames waiting for the write in flight
  std::string writing_;
  std::string socket_id_;
  std::uint32_t id_;
  std::uint32_t mask_counter_;
  std::uint32_t generation_ = 0;  // one per session of this client
  State state_ = State::Idle;
  bool write_pending_ = false;
  bool close_after_write_ = false;
};

}  // namespace bench
