#include "redis/connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <vector>

namespace greendot::redis {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
}  // namespace

std::shared_ptr<RedisConnection> RedisConnection::create(asio::io_context& io,
                                                         ReaderLimits limits) {
  return std::make_shared<RedisConnection>(io, limits);
}

RedisConnection::RedisConnection(asio::io_context& io, ReaderLimits limits)
    : socket_(io), resolver_(io), reader_(limits) {}

void RedisConnection::connect(const std::string& host, std::uint16_t port, ConnectHandler done) {
  state_ = State::Connecting;
  resolver_.async_resolve(
      host, std::to_string(port),
      [self = shared_from_this(), done = std::move(done)](
          const boost::system::error_code& ec, const tcp::resolver::results_type& endpoints) {
        if (ec) {
          self->fail("cannot resolve: " + ec.message());
          return done(ConnectionError{self->failure_});
        }
        asio::async_connect(
            self->socket_, endpoints,
            [self, done](const boost::system::error_code& connect_ec, const tcp::endpoint&) {
              if (self->state_ != State::Connecting) {
                return done(ConnectionError{"closed while connecting"});
              }
              if (connect_ec) {
                self->fail("cannot connect: " + connect_ec.message());
                return done(ConnectionError{self->failure_});
              }
              boost::system::error_code ignored;
              self->socket_.set_option(tcp::no_delay(true), ignored);
              self->state_ = State::Open;
              self->read_more();
              self->write_more();
              done(std::nullopt);
            });
      });
}

void RedisConnection::connect(const RedisEndpoint& endpoint, ConnectHandler done) {
  if (endpoint.tls) {
    state_ = State::Failed;
    failure_ = "rediss:// (TLS) is not supported yet; use redis:// through a TLS tunnel";
    return done(ConnectionError{failure_});
  }
  // Queued before the connection is up: they go first, ahead of anything the caller sends.
  std::vector<std::string> hello{"HELLO", "3"};
  if (endpoint.password) {
    hello.insert(hello.end(), {"AUTH", endpoint.username.empty() ? "default" : endpoint.username,
                               *endpoint.password});
  }
  const std::vector<std::string_view> hello_args(hello.begin(), hello.end());
  auto shared_done = std::make_shared<ConnectHandler>(std::move(done));
  auto refuse = [self = shared_from_this(), shared_done](std::string why) {
    self->fail(std::move(why));
    (*shared_done)(ConnectionError{self->failure_});
  };
  const int db = endpoint.db;
  command(hello_args, [self = shared_from_this(), shared_done, refuse, db](Result result) {
    if (auto* error = std::get_if<ConnectionError>(&result)) return (*shared_done)(*error);
    const Reply& reply = std::get<Reply>(result);
    if (reply.is_error()) return refuse("Redis refused the login: " + reply.text);
    if (db == 0) return (*shared_done)(std::nullopt);
    const std::string number = std::to_string(db);
    const std::array<std::string_view, 2> select{"SELECT", number};
    self->command(select, [shared_done, refuse](Result selected) {
      if (auto* error = std::get_if<ConnectionError>(&selected)) return (*shared_done)(*error);
      if (std::get<Reply>(selected).is_error()) {
        return refuse("Redis refused the database: " + std::get<Reply>(selected).text);
      }
      (*shared_done)(std::nullopt);
    });
  });
  // Success is reported by the login above; a failed connect fails the queued HELLO too, which
  // reports it.
  connect(endpoint.host, endpoint.port, [](std::optional<ConnectionError>) {});
}

void RedisConnection::command(std::span<const std::string_view> args, ReplyHandler done) {
  if (state_ == State::Failed) return done(ConnectionError{failure_});
  append_command(pending_, args);
  waiting_.push_back(std::move(done));
  write_more();
}

void RedisConnection::send(std::span<const std::string_view> args) {
  if (state_ == State::Failed) return;
  append_command(pending_, args);
  write_more();
}

// One write at a time, of everything queued meanwhile: a burst of commands is one syscall.
void RedisConnection::write_more() {
  if (state_ != State::Open || write_in_flight_ || pending_.empty()) return;
  writing_.swap(pending_);
  pending_.clear();
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->write_in_flight_ = false;
                      if (ec) return self->fail("write failed: " + ec.message());
                      self->writing_.clear();
                      self->write_more();
                    });
}

void RedisConnection::read_more() {
  read_buffer_.resize(kReadChunk);
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->state_ != State::Open) return;
        if (ec)
          return self->fail(ec == asio::error::eof ? "the server closed the connection"
                                                   : "read failed: " + ec.message());
        self->reader_.feed(std::string_view(self->read_buffer_.data(), n));
        for (;;) {
          auto next = self->reader_.next();
          if (std::holds_alternative<std::monostate>(next)) break;
          if (auto* error = std::get_if<ProtocolError>(&next)) {
            return self->fail("not a Redis reply: " + error->message);
          }
          Reply reply = std::move(std::get<Reply>(next));
          if (reply.type == Reply::Type::Push) {
            if (self->on_push_) self->on_push_(std::move(reply));
            continue;
          }
          if (self->waiting_.empty()) return self->fail("a reply to no command");
          ReplyHandler done = std::move(self->waiting_.front());
          self->waiting_.pop_front();
          done(std::move(reply));
          if (self->state_ != State::Open) return;  // the handler closed us
        }
        self->read_more();
      });
}

void RedisConnection::close() {
  fail("closed");
}

void RedisConnection::fail(std::string message) {
  if (state_ == State::Failed) return;
  state_ = State::Failed;
  failure_ = std::move(message);
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  // Handlers may queue more commands: those fail at once, as the state says.
  auto waiting = std::move(waiting_);
  waiting_.clear();
  pending_.clear();
  for (auto& done : waiting) done(ConnectionError{failure_});
  if (auto told = std::move(on_failure_)) told(failure_);
}

}  // namespace greendot::redis
