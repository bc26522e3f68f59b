#include "redis/redis_link.hpp"

#include <algorithm>

namespace greendot::redis {

std::shared_ptr<RedisLink> RedisLink::create(boost::asio::io_context& io, RedisEndpoint endpoint,
                                             Backoff backoff, std::shared_ptr<TlsContext> tls,
                                             std::chrono::milliseconds login_timeout) {
  return std::make_shared<RedisLink>(io, std::move(endpoint), backoff, std::move(tls),
                                     login_timeout);
}

RedisLink::RedisLink(boost::asio::io_context& io, RedisEndpoint endpoint, Backoff backoff,
                     std::shared_ptr<TlsContext> tls, std::chrono::milliseconds login_timeout)
    : io_(io),
      endpoint_(std::move(endpoint)),
      backoff_(backoff),
      tls_(std::move(tls)),
      login_timeout_(login_timeout),
      retry_timer_(io),
      login_timer_(io),
      next_delay_(backoff.first) {}

void RedisLink::start() {
  if (!stopped_) return;
  stopped_ = false;
  connect();
}

void RedisLink::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  login_timer_.cancel();
  if (connection_) connection_->close();
  connection_.reset();
  logged_in_ = false;
}

void RedisLink::connect() {
  logged_in_ = false;
  connection_ = RedisConnection::create(io_);
  std::weak_ptr<RedisLink> weak = weak_from_this();
  connection_->on_push([weak](Reply push) {
    if (auto self = weak.lock(); self && self->on_push_) self->on_push_(std::move(push));
  });
  connection_->on_failure([weak](const std::string& why) {
    if (auto self = weak.lock()) self->lost(why);
  });
  connection_->connect(
      endpoint_,
      [weak](std::optional<ConnectionError> error) {
        auto self = weak.lock();
        if (!self || self->stopped_ || error) return;  // a failure is reported through lost()
        self->login_timer_.cancel();
        self->logged_in_ = true;
        ++self->connections_made_;
        self->next_delay_ = self->backoff_.first;
        if (self->on_up_) self->on_up_();
      },
      tls_, scripts_);
  // A server that accepts the connection but never answers (stopped, overloaded, a proxy with
  // nothing behind it) would hold the link connecting for ever.
  login_timer_.expires_after(login_timeout_);
  login_timer_.async_wait(
      [weak, connection = std::weak_ptr(connection_)](const boost::system::error_code& ec) {
        auto self = weak.lock();
        auto pending = connection.lock();
        if (ec || !self || !pending || self->logged_in_ || pending != self->connection_) return;
        pending->close();  // reported through lost(), which tries again later
      });
}

void RedisLink::lost(const std::string& why) {
  const bool was_up = logged_in_;
  logged_in_ = false;
  if (stopped_) return;
  if (was_up && on_down_) on_down_(why);
  retry_later();
}

void RedisLink::retry_later() {
  // Full jitter over the upper half: never sooner than half the delay, never in step.
  const auto delay = next_delay_;
  std::uniform_int_distribution<long> spread(delay.count() / 2, delay.count());
  retry_timer_.expires_after(std::chrono::milliseconds(spread(jitter_)));
  next_delay_ = std::min(delay * 2, backoff_.max);
  std::weak_ptr<RedisLink> weak = weak_from_this();
  retry_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    self->connect();
  });
}

void RedisLink::command(std::span<const std::string_view> args, ReplyHandler done) {
  if (!up()) return done(ConnectionError{"the link to Redis is down"});
  connection_->command(args, std::move(done));
}

void RedisLink::drop() {
  if (connection_) connection_->close();
}

void RedisLink::send(std::span<const std::string_view> args) {
  if (up()) connection_->send(args);
}

void RedisLink::subscription_command(std::span<const std::string_view> args, ReplyHandler done) {
  if (!up()) return done(ConnectionError{"the link to Redis is down"});
  connection_->subscription_command(args, std::move(done));
}

}  // namespace greendot::redis
