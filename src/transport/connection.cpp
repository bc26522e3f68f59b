#include "transport/connection.hpp"

#include "transport/discard_input.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>

namespace greendot::transport {

namespace asio = boost::asio;
namespace ws = protocol::websocket;
namespace pusher = protocol::pusher;

namespace {

// Protocol versions whose wire format this server speaks.
constexpr int kMinProtocol = 5;
constexpr int kMaxProtocol = 7;
// Reads per readiness before yielding to other connections of the thread.
constexpr int kReadsPerWakeup = 4;
// How long the close frame of a connection dropped as a slow consumer may wait for room in
// its socket. A peer that does not read cannot receive it anyway; one that reads slowly gets
// it as soon as a few hundred bytes have drained.
constexpr auto kSlowConsumerCloseTimeout = std::chrono::seconds(5);

}  // namespace

void Connection::start(Shard& shard, asio::ip::tcp::socket socket, ConnectionSlot slot,
                       std::string_view app_key, std::string_view protocol_version,
                       bool has_protocol, std::string pending) {
  auto connection = std::make_shared<Connection>(shard, adopt_socket(shard.io(), std::move(socket)),
                                                 std::move(slot));
  connection->open(app_key, protocol_version, has_protocol, std::move(pending));
  // Also after a refusal: the close completes (or is drained) through the read side.
  connection->wait_readable();
}

Connection::Connection(Shard& shard, ShardSocket socket, ConnectionSlot slot)
    : shard_(shard),
      socket_(std::move(socket)),
      slot_(std::move(slot)),
      parser_(ws::Role::Server, shard.context().settings.max_message_bytes) {
  shard_.attach(*this);
}

Connection::~Connection() {
  if (is_linked()) shard_.detach(*this);
}

bool Connection::is_member_as(std::string_view channel, std::string_view user_id) const {
  return pusher_ && pusher_->is_member_as(channel, user_id);
}

bool Connection::joined_after(std::string_view channel, std::uint64_t number) const {
  return pusher_ && pusher_->joined_after(channel, number);
}

session::SessionTransport::Poster Connection::poster() {
  return [self = shared_from_this()](std::function<void()> work) {
    asio::post(self->shard_.io(), [self, work = std::move(work)] {
      if (!self->closing_) work();  // finish() has left every channel, pending joins included
    });
  };
}

void Connection::listen(core::AppIndex app, std::string_view channel) {
  shard_.fanout().add(app, channel, this);
}

void Connection::stop_listening(core::AppIndex app, std::string_view channel) {
  shard_.fanout().remove(app, channel, this);
}

void Connection::signed_in_as(core::AppIndex app, const std::string& user) {
  shard_.add_signed_in(app, user, *this);
}

void Connection::signed_out_as(core::AppIndex app, const std::string& user) {
  shard_.remove_signed_in(app, user, *this);
}

void Connection::send_error(std::string_view message) {
  send_text(pusher::error(0, message));
}

void Connection::open(std::string_view app_key, std::string_view protocol_version,
                      bool has_protocol, std::string pending) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  shard_.liveness().touch(*this, now_ms());
  if (slot_.admission() == Admission::OverTotal) {
    close(4100, "Over capacity: the server has reached its connection limit");
    return bound_close();
  }
  if (slot_.admission() == Admission::OverPerAddress) {
    close(4004, "Over connection quota: too many connections from your address");
    return bound_close();
  }

  auto& apps = shard_.context().apps;
  core::AppIndex app_index = 0;
  const config::AppConfig* app = apps.find_by_key(app_key, &app_index);
  if (!app) {
    spdlog::debug("connection refused: no app has the key '{}'", app_key);
    return close(4001, "Application does not exist");
  }
  if (!app->enabled) return close(4003, "Application disabled");
  if (!has_protocol) return close(4008, "No protocol version supplied");
  int version = 0;
  auto [end, ec] = std::from_chars(protocol_version.data(),
                                   protocol_version.data() + protocol_version.size(), version);
  if (ec != std::errc{} || end != protocol_version.data() + protocol_version.size()) {
    return close(4006, "Invalid version string format");
  }
  if (version < kMinProtocol || version > kMaxProtocol) {
    return close(4007, "Unsupported protocol version");
  }
  if (shard_.context().stopping) return close(4200, "Server is shutting down; reconnect");
  auto& count = apps.connections(app_index);
  if (app->max_connections != 0 && count.fetch_add(1) >= app->max_connections) {
    count.fetch_sub(1);
    return close(4004, "Application is over connection quota");
  }
  if (app->max_connections == 0) count.fetch_add(1);

  const auto socket_id = protocol::SocketId::random();
  pusher_.emplace(*this, shard_.context(), app_index, socket_id,
                  shard_.context().next_session.fetch_add(1));
  send_text(pusher::connection_established(socket_id.to_string(),
                                           shard_.context().settings.activity_timeout_s));
  if (!pending.empty()) consume(pending);
}

void Connection::wait_readable() {
  if (finished_) return;
  socket_.async_wait(ShardSocket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec) return self->finish();
                       if (self->closing_) return self->drain();
                       self->on_readable();
                     });
}

// While closing, whatever the peer still sends is read and dropped until it closes too.
// Closing a socket with unread input makes the kernel send a reset, which can overtake our
// close frame: the client would see 1006 instead of the code we sent.
void Connection::drain() {
  if (!discard_ready_input(socket_, shard_.read_buffer())) return finish();
  wait_readable();
}

void Connection::on_readable() {
  auto buffer = shard_.read_buffer();
  for (int i = 0; i < kReadsPerWakeup && !closing_; ++i) {
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) return finish();
    shard_.liveness().touch(*this, now_ms());
    consume({buffer.data(), n});
    if (n < buffer.size()) break;
  }
  parser_.shrink_if_idle();
  wait_readable();
}

// Feeds bytes to the frame parser and acts on what it finds.
void Connection::consume(std::string_view bytes) {
  auto error = parser_.feed(bytes, [this](const ws::ParsedEvent& event) {
    if (closing_) return;
    switch (event.kind) {
      case ws::ParsedEvent::Kind::Text:
        server::count(shard_.traffic().messages_in);
        if (pusher_) pusher_->on_message(event.payload);
        break;
      case ws::ParsedEvent::Kind::Binary:
        send_error("Binary frames are not supported; send JSON text");
        break;
      case ws::ParsedEvent::Kind::Ping: {
        std::string frame;
        ws::append_frame(frame, ws::Opcode::Pong, event.payload);
        enqueue(std::make_shared<const std::string>(std::move(frame)));
        break;
      }
      case ws::ParsedEvent::Kind::Pong:
        break;
      case ws::ParsedEvent::Kind::Close:
        close(1000, "");
        break;
    }
  });
  if (error != ws::ParseError::None && !closing_) {
    if (error == ws::ParseError::MessageTooBig) {
      send_error("Message larger than the limit of " +
                 std::to_string(shard_.context().settings.max_message_bytes) + " bytes");
    }
    close(ws::FrameParser::close_code_for(error), ws::FrameParser::describe(error));
  }
}

void Connection::send_text(std::string_view text) {
  enqueue(engine::make_text_frame(text));
}

void Connection::send_frame(const engine::SharedFrame& frame) {
  enqueue(frame);
}

void Connection::enqueue(engine::SharedFrame frame) {
  if (closing_ || overflowed_) return;
  server::count(shard_.traffic().messages_out);
  // The server's own answers queued so far do not count: only what the client falls behind on.
  const std::size_t behind = outbound_.bytes() - outbound_.answer_bytes();
  if (behind + frame->size() > shard_.context().settings.max_outbound_bytes) return overflow();
  outbound_.push(std::move(frame));
  request_flush();
}

// A presence channel's member list may be larger than max_outbound_bytes (1000 members with
// 1 KB of user_info each are about 2 MB, the info being escaped twice): it is the answer the
// client asked for, not a backlog, so it is always queued. What bounds its memory is the
// check before each join (subscribe_presence) and the app's member and channel limits.
void Connection::send_answer(std::string_view text) {
  if (closing_ || overflowed_) return;
  outbound_.push_answer(engine::make_text_frame(text));
  request_flush();
}

void Connection::overflow() {
  // A consumer that cannot keep up is let go rather than allowed to grow our memory. What
  // it has not been sent yet is dropped; the close is posted because this may run inside a
  // fan-out loop over the very subscriber list the close changes.
  overflowed_ = true;
  // Once per connection: an operator needs to know that clients are being dropped (they
  // reconnect and may be dropped again), and why.
  spdlog::info("closing connection {} with 4100: more than max_outbound_bytes ({}) queued",
               socket_id().to_string(), shard_.context().settings.max_outbound_bytes);
  outbound_.drop_unstarted();
  asio::post(shard_.io(), [self = shared_from_this()] { self->drop_as_slow_consumer(); });
}

// Frames are not written as they are queued but on the shard's next flush pass, which runs
// once the handlers already waiting on the thread are done: what one connection is sent by
// several of them (the member events of a join storm, back-to-back broadcasts) goes out in
// one write.
void Connection::request_flush() {
  if (flush_requested_ || waiting_writable_ || finished_) return;
  flush_requested_ = true;
  shard_.request_flush(shared_from_this());
}

void Connection::flush() {
  flush_requested_ = false;
  if (waiting_writable_ || finished_) return;
  // Straight to the kernel, with no asynchronous operation per write: the socket is
  // non-blocking, and a full buffer is the only case that needs to wait.
  constexpr std::size_t kMaxPieces = 64;
  iovec pieces[kMaxPieces];
  while (!outbound_.empty()) {
    msghdr message{};
    message.msg_iov = pieces;
    message.msg_iovlen = outbound_.gather(pieces, kMaxPieces);
    const ssize_t written = ::sendmsg(socket_.native_handle(), &message, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_writable();
      return finish();
    }
    outbound_.consume(static_cast<std::size_t>(written));
  }
  if (closing_ && overflowed_) {
    // A slow consumer's close frame is in the kernel, which delivers it (and then our FIN)
    // after the close: nothing is gained by waiting for its answer. Input left unread would
    // make the close a reset that discards what is still on its way.
    discard_ready_input(socket_, shard_.read_buffer());
    return finish();
  }
  if (closing_) {
    // Our close frame is out: tell the peer we send nothing more and wait (draining) for it
    // to close its side.
    boost::system::error_code ignored;
    socket_.shutdown(ShardSocket::shutdown_send, ignored);
  }
}

void Connection::wait_writable() {
  waiting_writable_ = true;
  socket_.async_wait(ShardSocket::wait_write,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->waiting_writable_ = false;
                       if (ec) return self->finish();
                       self->flush();
                     });
}

void Connection::close(std::uint16_t code, std::string_view reason) {
  if (closing_) return;
  closing_ = true;
  if (pusher_) pusher_->leave_everything();
  // Queued directly: these two must go out even though nothing else may be sent any more.
  if (code >= 4000) outbound_.push(engine::make_text_frame(pusher::error(code, reason)));
  outbound_.push(std::make_shared<const std::string>(ws::encode_close(code, reason)));
  // From here input is drained, not read. The liveness tracker bounds how long a peer that
  // never completes the close can hold the connection.
  shard_.liveness().touch(*this, now_ms());
  request_flush();
}

// Unlike other closes, this one is not left to the liveness timeouts (a minute by default):
// the socket is closed as soon as the close frame is written, or after a short deadline.
void Connection::drop_as_slow_consumer() {
  if (closing_) return;  // already closing for another reason, with its own bounds
  close(4100, "Over capacity");
  bound_close();
}

// A refused or dropped connection gets a short time to complete its close, then its socket
// (and slot) go, rather than at the liveness timeout.
void Connection::bound_close() {
  close_deadline_ = std::make_unique<asio::steady_timer>(shard_.io(), kSlowConsumerCloseTimeout);
  close_deadline_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->finish();
  });
}

void Connection::send_ping() {
  send_text(pusher::ping());
}

void Connection::expire() {
  if (closing_) return finish();  // the close did not complete in time: the peer is gone
  close(4201, "Pong reply not received in time");
}

void Connection::finish() {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  if (pusher_) {
    pusher_->leave_everything();
    shard_.context().apps.connections(pusher_->app_index()).fetch_sub(1);
  }
  shard_.liveness().remove(*this);
  boost::system::error_code ignored;
  socket_.shutdown(ShardSocket::shutdown_both, ignored);
  socket_.close(ignored);
  slot_.release();
  outbound_.clear();
  if (close_deadline_) close_deadline_->cancel();
  shard_.detach(*this);
}

}  // namespace greendot::transport
