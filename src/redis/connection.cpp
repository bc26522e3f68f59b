#include "redis/connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace greendot::redis {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}
}  // namespace

// TLS over the connection's own socket, which stays the one closed on failure.
class RedisConnection::TlsStream : public ssl::stream<tcp::socket&> {
 public:
  TlsStream(tcp::socket& socket, std::shared_ptr<TlsContext> context)
      : ssl::stream<tcp::socket&>(socket, *context), context_(std::move(context)) {}

 private:
  std::shared_ptr<TlsContext> context_;  // kept alive as long as the stream uses it
};

std::shared_ptr<RedisConnection> RedisConnection::create(asio::io_context& io,
                                                         ReaderLimits limits) {
  return std::make_shared<RedisConnection>(io, limits);
}

RedisConnection::RedisConnection(asio::io_context& io, ReaderLimits limits)
    : socket_(io), resolver_(io), reader_(limits) {}

RedisConnection::~RedisConnection() = default;

void RedisConnection::connect(const std::string& host, std::uint16_t port, ConnectHandler done) {
  connect_tcp(host, port, std::move(done));
}

void RedisConnection::connect_tcp(const std::string& host, std::uint16_t port,
                                  ConnectHandler done) {
  state_ = State::Connecting;
  host_ = host;
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
              if (self->tls_) return self->handshake(done);
              self->opened(done);
            });
      });
}

// The certificate must chain to a trusted authority and name the host (a DNS name, or an IP
// address in its subjectAltName); the name is also sent (SNI) for servers behind a proxy that
// picks the certificate by it.
void RedisConnection::handshake(ConnectHandler done) {
  boost::system::error_code ec;
  asio::ip::make_address(host_, ec);
  const bool is_address = !ec;
  if (!is_address) SSL_set_tlsext_host_name(tls_->native_handle(), host_.c_str());
  tls_->set_verify_callback(ssl::host_name_verification(host_));
  tls_->async_handshake(ssl::stream_base::client,
                        [self = shared_from_this(), done](const boost::system::error_code& error) {
                          if (self->state_ != State::Connecting)
                            return done(ConnectionError{"closed while connecting"});
                          if (error) {
                            self->fail("TLS handshake failed: " + error.message());
                            return done(ConnectionError{self->failure_});
                          }
                          self->opened(done);
                        });
}

void RedisConnection::opened(ConnectHandler done) {
  state_ = State::Open;
  read_more();
  write_more();
  done(std::nullopt);
}

void RedisConnection::connect(const RedisEndpoint& endpoint, ConnectHandler done,
                              std::shared_ptr<TlsContext> tls,
                              std::shared_ptr<const std::vector<std::string>> scripts) {
  if (endpoint.tls) {
    if (!tls) {
      auto made = make_tls_context({});
      if (auto* why = std::get_if<std::string>(&made)) {
        fail(*why);
        return done(ConnectionError{failure_});
      }
      tls = std::get<std::shared_ptr<TlsContext>>(std::move(made));
    }
    tls_ = std::make_unique<TlsStream>(socket_, std::move(tls));
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
  // Behind the login, ahead of the caller's commands (sent once the login is reported).
  if (scripts) {
    for (const auto& script : *scripts) {
      const std::array<std::string_view, 3> load{"SCRIPT", "LOAD", script};
      command(load, [](Result) {});  // a script not loaded is sent whole (NOSCRIPT)
    }
  }
  // Success is reported by the login above; a failed connect fails the queued HELLO too, which
  // reports it.
  connect_tcp(endpoint.host, endpoint.port, [](std::optional<ConnectionError>) {});
}

void RedisConnection::command(std::span<const std::string_view> args, ReplyHandler done) {
  if (state_ == State::Failed) return done(ConnectionError{failure_});
  append_command(pending_, args);
  waiting_.push_back(Waiting{std::move(done), {}, {}});
  write_more();
}

void RedisConnection::send(std::span<const std::string_view> args) {
  if (state_ == State::Failed) return;
  append_command(pending_, args);
  write_more();
}

void RedisConnection::subscription_command(std::span<const std::string_view> args,
                                           ReplyHandler done) {
  if (state_ == State::Failed) return done(ConnectionError{failure_});
  if (args.size() < 2) return done(ConnectionError{"a subscription command needs a channel"});
  append_command(pending_, args);
  waiting_.push_back(Waiting{std::move(done), lowercase(args[0]),
                             std::deque<std::string>(args.begin() + 1, args.end())});
  write_more();
}

// One write at a time, of everything queued meanwhile: a burst of commands is one syscall.
void RedisConnection::write_more() {
  if (state_ != State::Open || write_in_flight_ || pending_.empty()) return;
  writing_.swap(pending_);
  pending_.clear();
  write_in_flight_ = true;
  auto written = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    self->write_in_flight_ = false;
    if (ec) return self->fail("write failed: " + ec.message());
    self->writing_.clear();
    self->write_more();
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(writing_), std::move(written));
  } else {
    asio::async_write(socket_, asio::buffer(writing_), std::move(written));
  }
}

void RedisConnection::read_more() {
  read_buffer_.resize(kReadChunk);
  auto read = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    self->handle_bytes(ec, n);
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(read_buffer_), std::move(read));
  } else {
    socket_.async_read_some(asio::buffer(read_buffer_), std::move(read));
  }
}

void RedisConnection::handle_bytes(const boost::system::error_code& ec, std::size_t n) {
  if (state_ != State::Open) return;
  if (ec) {
    // A TLS server that closes without close_notify reports a truncated stream: still a close.
    const bool closed = ec == asio::error::eof || ec == ssl::error::stream_truncated;
    return fail(closed ? "the server closed the connection" : "read failed: " + ec.message());
  }
  reader_.feed(std::string_view(read_buffer_.data(), n));
  for (;;) {
    auto next = reader_.next();
    if (std::holds_alternative<std::monostate>(next)) break;
    if (auto* error = std::get_if<ProtocolError>(&next)) {
      return fail("not a Redis reply: " + error->message);
    }
    Reply reply = std::move(std::get<Reply>(next));
    if (reply.type == Reply::Type::Push) {
      if (confirms(reply)) {
        ReplyHandler done = std::move(waiting_.front().done);
        waiting_.pop_front();
        done(reply);
        if (state_ != State::Open) return;
      }
      if (on_push_) on_push_(std::move(reply));
      if (state_ != State::Open) return;
      continue;
    }
    if (waiting_.empty()) return fail("a reply to no command");
    ReplyHandler done = std::move(waiting_.front().done);
    waiting_.pop_front();
    done(std::move(reply));
    if (state_ != State::Open) return;  // the handler closed us
  }
  read_more();
}

// Redis confirms the channels of one subscription command in the order given, after the
// replies of the commands before it: only the oldest waiting command can be confirmed.
bool RedisConnection::confirms(const Reply& push) {
  if (waiting_.empty() || waiting_.front().push_kind.empty()) return false;
  if (push.elements.size() < 2 || !push.elements[0].is_string()) return false;
  auto& front = waiting_.front();
  if (push.elements[0].text != front.push_kind || push.elements[1].text != front.unconfirmed[0]) {
    return false;
  }
  front.unconfirmed.pop_front();
  return front.unconfirmed.empty();
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
  for (auto& entry : waiting) entry.done(ConnectionError{failure_});
  if (auto told = std::move(on_failure_)) told(failure_);
}

}  // namespace greendot::redis
