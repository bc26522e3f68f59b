// RedisLink: a connection to one Redis server that comes back by itself. When the connection
// fails it is made again after a backoff (100 ms doubling to 5 s, with jitter so that many
// nodes do not return in step), logging in again each time. Commands given while there is no
// connection fail at once rather than waiting: what must be done again after a reconnect (the
// engine re-asserting its sessions, resubscribing) is done from on_up.
//
// Single-threaded, like RedisConnection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "redis/connection.hpp"
#include "redis/redis_url.hpp"

namespace greendot::redis {

class RedisLink : public std::enable_shared_from_this<RedisLink> {
 public:
  struct Backoff {
    std::chrono::milliseconds first{100};
    std::chrono::milliseconds max{5000};
  };
  // Told each time a connection is up (logged in) and each time it is lost, with why.
  using UpHandler = std::function<void()>;
  using DownHandler = std::function<void(const std::string& why)>;

  // `login_timeout`: a connection not logged in by then (a server that accepts but does not
  // answer) is given up and made again. `tls`: for a rediss:// endpoint (see RedisConnection).
  static std::shared_ptr<RedisLink> create(boost::asio::io_context& io, RedisEndpoint endpoint,
                                           Backoff backoff,
                                           std::shared_ptr<TlsContext> tls = nullptr,
                                           std::chrono::milliseconds login_timeout = kLoginTimeout);
  RedisLink(boost::asio::io_context& io, RedisEndpoint endpoint, Backoff backoff,
            std::shared_ptr<TlsContext> tls, std::chrono::milliseconds login_timeout);

  static constexpr std::chrono::milliseconds kLoginTimeout{5000};

  void on_up(UpHandler handler) { on_up_ = std::move(handler); }
  void on_down(DownHandler handler) { on_down_ = std::move(handler); }
  void on_push(RedisConnection::PushHandler handler) { on_push_ = std::move(handler); }

  // Connects, and keeps connecting until stop().
  void start();
  void stop();

  bool up() const { return connection_ && connection_->open() && logged_in_; }
  // Fails at once (ConnectionError) while the link is down.
  void command(std::span<const std::string_view> args, ReplyHandler done);
  void send(std::span<const std::string_view> args);
  // See RedisConnection::subscription_command; fails at once while the link is down.
  void subscription_command(std::span<const std::string_view> args, ReplyHandler done);
  const RedisEndpoint& endpoint() const { return endpoint_; }
  // Scripts each new connection loads after its login (see RedisConnection::connect); the list
  // may be filled later, before the next connection.
  void load_scripts_on_connect(std::shared_ptr<const std::vector<std::string>> scripts) {
    scripts_ = std::move(scripts);
  }
  // Closes the connection as if it had failed (every waiting command is told), then makes it
  // again after the backoff: for a connection that stopped answering.
  void drop();
  // How many times a connection was made (the first included).
  unsigned connections_made() const { return connections_made_; }

 private:
  void connect();
  void lost(const std::string& why);
  void retry_later();

  boost::asio::io_context& io_;
  const RedisEndpoint endpoint_;
  const Backoff backoff_;
  const std::shared_ptr<TlsContext> tls_;
  const std::chrono::milliseconds login_timeout_;
  std::shared_ptr<RedisConnection> connection_;
  std::shared_ptr<const std::vector<std::string>> scripts_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer login_timer_;
  std::chrono::milliseconds next_delay_;
  std::minstd_rand jitter_{std::random_device{}()};
  UpHandler on_up_;
  DownHandler on_down_;
  RedisConnection::PushHandler on_push_;
  bool logged_in_ = false;
  bool stopped_ = true;
  unsigned connections_made_ = 0;
};

}  // namespace greendot::redis
