// RedisConnection: one TCP (or TLS) connection to one Redis server, on one Asio event loop.
// Commands are pipelined (written as they come, several per write, never waiting for a reply before
// the next) and their replies handed back in order; RESP3 push messages (pub/sub) go to their own
// handler. On any failure every waiting command is told, once, and the connection is closed:
// reconnecting, and what to do again, is the caller's decision.
//
// Single-threaded: every call and every callback is on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "redis/redis_url.hpp"
#include "redis/resp.hpp"
#include "redis/tls_context.hpp"

namespace greendot::redis {

// Why a command has no reply: the connection failed (or was closed) before it came.
struct ConnectionError {
  std::string message;
};
using Result = std::variant<Reply, ConnectionError>;
using ReplyHandler = std::function<void(Result)>;

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  using PushHandler = std::function<void(Reply)>;
  using ConnectHandler = std::function<void(std::optional<ConnectionError>)>;

  static std::shared_ptr<RedisConnection> create(boost::asio::io_context& io,
                                                 ReaderLimits limits = {});

  // Connects; commands given before it completes are sent once it has.
  void connect(const std::string& host, std::uint16_t port, ConnectHandler done);
  // Connects and logs in: HELLO 3 (with AUTH when the endpoint has a password), then SELECT
  // when it names a database other than 0. `done` is told once the server has accepted both,
  // or why not (a refused password closes the connection). A rediss:// endpoint is reached
  // over TLS with `tls` (see make_tls_context), or when none is given with the system's
  // certificate authorities; the server's certificate must name the endpoint's host.
  // `scripts` are loaded (SCRIPT LOAD) right after the login, ahead of anything the caller
  // sends: an EVALSHA on this connection then never meets an empty script cache (a restarted
  // server, a replica promoted by a failover), whose NOSCRIPT answer and resend would let the
  // commands sent after it overtake it.
  void connect(const RedisEndpoint& endpoint, ConnectHandler done,
               std::shared_ptr<TlsContext> tls = nullptr,
               std::shared_ptr<const std::vector<std::string>> scripts = nullptr);
  // Queues a command; `done` gets its reply (an error reply is a reply) or the failure.
  void command(std::span<const std::string_view> args, ReplyHandler done);
  // Queues a command whose only answers are push messages: with RESP3 (HELLO 3), SUBSCRIBE,
  // SSUBSCRIBE, PSUBSCRIBE and their UNSUBSCRIBE confirm through on_push, not as replies.
  void send(std::span<const std::string_view> args);
  // Queues a subscription command (SUBSCRIBE, SSUBSCRIBE, UNSUBSCRIBE, SUNSUBSCRIBE with at
  // least one channel), which succeeds with one confirmation push per channel but fails with
  // an ordinary error reply (a Cluster node's -MOVED, -CROSSSLOT, an ACL's -NOPERM): sent with
  // send(), such an error would be a reply to no command. `done` gets the last confirmation or
  // the error; every push still goes to on_push too.
  void subscription_command(std::span<const std::string_view> args, ReplyHandler done);
  void on_push(PushHandler handler) { on_push_ = std::move(handler); }
  // Told once, after the waiting commands, when the connection fails or is closed.
  void on_failure(std::function<void(const std::string& why)> handler) {
    on_failure_ = std::move(handler);
  }
  // Fails every waiting command and closes the socket.
  void close();

  bool open() const { return state_ == State::Open; }
  std::size_t waiting() const { return waiting_.size(); }

  explicit RedisConnection(boost::asio::io_context& io, ReaderLimits limits);
  ~RedisConnection();

 private:
  enum class State { Idle, Connecting, Open, Failed };
  // A command waiting for its reply, or a subscription command for its confirmations.
  struct Waiting {
    ReplyHandler done;
    std::string push_kind;                // "ssubscribe"...; empty for an ordinary command
    std::deque<std::string> unconfirmed;  // channels not yet confirmed, in the order sent
  };
  class TlsStream;
  void connect_tcp(const std::string& host, std::uint16_t port, ConnectHandler done);
  void handshake(ConnectHandler done);
  void opened(ConnectHandler done);
  void write_more();
  void read_more();
  void handle_bytes(const boost::system::error_code& ec, std::size_t n);
  // Whether `push` confirms the oldest waiting command, which it completes when the last.
  bool confirms(const Reply& push);
  void fail(std::string message);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  std::unique_ptr<TlsStream> tls_;  // over socket_, for rediss://
  std::string host_;                // as connected to, for the certificate's name
  ReplyReader reader_;
  State state_ = State::Idle;
  std::string pending_;  // commands not yet handed to the socket
  std::string writing_;  // the bytes of the write in flight
  bool write_in_flight_ = false;
  std::deque<Waiting> waiting_;  // one per command sent or queued, in order
  std::string failure_;          // why, once Failed
  PushHandler on_push_;
  std::function<void(const std::string&)> on_failure_;
  std::string read_buffer_;
};

}  // namespace greendot::redis
