#include "pusher_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/write.hpp>

#include <cerrno>
#include <climits>
#include <cstring>

#include "clock.hpp"
#include "message_scan.hpp"
#include "protocol/signature.hpp"

namespace bench {

namespace asio = boost::asio;
namespace ws = greendot::protocol::websocket;
using tcp = asio::ip::tcp;

namespace {

// Any valid key will do: the server's answer is checked only for "101".
constexpr std::string_view kClientKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::size_t kMaxServerMessage = 64 << 20;  // presence snapshots of 20k members

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

bool rx_timestamps = false;
std::int64_t realtime_minus_mono_ns = 0;

std::int64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

void PusherClient::enable_rx_timestamps() {
  rx_timestamps = true;
  // The kernel stamps with CLOCK_REALTIME; the run's other times are CLOCK_MONOTONIC.
  std::int64_t best_gap = INT64_MAX;
  for (int i = 0; i < 5; ++i) {
    const std::int64_t a = clock_ns(CLOCK_MONOTONIC), r = clock_ns(CLOCK_REALTIME),
                       b = clock_ns(CLOCK_MONOTONIC);
    if (b - a < best_gap) {
      best_gap = b - a;
      realtime_minus_mono_ns = r - (a + b) / 2;
    }
  }
}

// read_some, or recvmsg with the receive timestamp when that is enabled.
std::size_t PusherClient::read_some(std::span<char> buffer, boost::system::error_code& ec) {
  if (!rx_timestamps) return socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
  if (n < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK)
             ? boost::system::error_code(asio::error::would_block)
             : boost::system::error_code(errno, boost::system::system_category());
    return 0;
  }
  if (n == 0) {
    ec = asio::error::eof;
    return 0;
  }
  rx_kernel_ns = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      rx_kernel_ns = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec - realtime_minus_mono_ns;
    }
  }
  ec = {};
  return static_cast<std::size_t>(n);
}

PusherClient::PusherClient(asio::io_context& io, ClientEvents& events, std::uint32_t id)
    : events_(events),
      socket_(io),
      parser_(ws::Role::Client, kMaxServerMessage),
      id_(id),
      mask_counter_(id * 2654435761u) {}

void PusherClient::open(const tcp::endpoint& server, const asio::ip::address& source,
                        const std::string& app_key) {
  boost::system::error_code ec;
  if (socket_.is_open()) socket_.close(ec);
  parser_ = ws::FrameParser(ws::Role::Client, kMaxServerMessage);
  handshake_.clear();
  out_.clear();
  writing_.clear();
  socket_id_.clear();
  members_known = 0;
  frames_received = 0;
  subscribed = false;
  write_pending_ = false;
  close_after_write_ = false;
  state_ = State::Connecting;
  ++generation_;  // completions of the previous session's operations are ignored
  opened_at_ns = mono_ns();

  socket_.open(tcp::v4(), ec);
  if (ec) return fail("socket: " + ec.message());
  // Lets connect() pick the port per (source, destination) pair instead of reserving one at
  // bind time: each source address then has the whole ephemeral range for the server.
  int one = 1;
  ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  socket_.bind(tcp::endpoint(source, 0), ec);
  if (ec) return fail("bind: " + ec.message());
  socket_.set_option(tcp::no_delay(true), ec);
  if (rx_timestamps)
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);

  // The upgrade request goes out with the connect; nothing else is written before the 101.
  writing_ = "GET /app/" + app_key +
             "?protocol=7&client=greendot-bench&version=1 HTTP/1.1\r\nHost: " +
             server.address().to_string() +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
             std::string(kClientKey) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  socket_.async_connect(server, [this, g = generation_](const boost::system::error_code& e) {
    if (g == generation_) on_connected(e);
  });
}

void PusherClient::on_connected(const boost::system::error_code& ec) {
  if (state_ != State::Connecting) return;
  if (ec) return fail("connect: " + ec.message());
  state_ = State::Handshake;
  write_pending_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, g = generation_](const boost::system::error_code& e, std::size_t) {
                      if (g != generation_) return;
                      write_pending_ = false;
                      writing_.clear();
                      if (e) return fail("upgrade request: " + e.message());
                      read_handshake();
                    });
}

void PusherClient::read_handshake() {
  socket_.async_wait(
      tcp::socket::wait_read, [this, g = generation_](const boost::system::error_code& ec) {
        if (g != generation_ || state_ != State::Handshake) return;
        if (ec) return fail("handshake: " + ec.message());
        auto buffer = events_.read_buffer();
        boost::system::error_code e;
        const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), e);
        if (e == asio::error::would_block) return read_handshake();
        if (e) return fail("handshake: " + e.message());
        handshake_.append(buffer.data(), n);
        const auto end = handshake_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (handshake_.size() > 16384) return fail("handshake: response head too large");
          return read_handshake();
        }
        if (!handshake_.starts_with("HTTP/1.1 101")) {
          return fail("handshake: " + handshake_.substr(0, handshake_.find('\r')));
        }
        state_ = State::Open;
        // Once per connection: asio's non_blocking(true) is an ioctl each time it is called,
        // and it was called before every wait (17 % of the generator's CPU in a 10k fan-out).
        socket_.non_blocking(true);
        std::string rest = handshake_.substr(end + 4);
        std::string().swap(handshake_);
        if (!rest.empty()) consume(rest);
        if (state_ == State::Open || state_ == State::Closing) wait_readable();
      });
}

void PusherClient::wait_readable() {
  socket_.async_wait(tcp::socket::wait_read,
                     [this, g = generation_](const boost::system::error_code& ec) {
                       if (g != generation_ || (state_ != State::Open && state_ != State::Closing))
                         return;
                       if (ec) return finish(state_ == State::Closing, "read: " + ec.message());
                       on_readable();
                     });
}

void PusherClient::on_readable() {
  auto buffer = events_.read_buffer();
  // A few reads per wakeup: enough to drain a burst, short enough to stay fair.
  for (int i = 0; i < 4; ++i) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffer, ec);
    if (ec == asio::error::would_block) break;
    if (ec == asio::error::eof)
      return finish(state_ == State::Closing, "server closed the TCP connection");
    if (ec) return finish(state_ == State::Closing, "read: " + ec.message());
    consume({buffer.data(), n});
    if (state_ != State::Open && state_ != State::Closing) return;
    if (n < buffer.size()) break;
  }
  wait_readable();
}

void PusherClient::consume(std::string_view bytes) {
  std::uint16_t close_code = 0;
  bool closed = false;
  auto error = parser_.feed(bytes, [&](const ws::ParsedEvent& event) {
    switch (event.kind) {
      case ws::ParsedEvent::Kind::Text:
        ++frames_received;
        on_text(event.payload);
        break;
      case ws::ParsedEvent::Kind::Close:
        closed = true;
        close_code = event.close_code;
        break;
      case ws::ParsedEvent::Kind::Ping: {
        std::uint8_t mask[4] = {1, 2, 3, 4};
        ws::append_frame(out_, ws::Opcode::Pong, event.payload, mask);
        flush();
        break;
      }
      default:
        break;
    }
  });
  if (error != ws::ParseError::None) return fail("bad frame from the server");
  if (closed) {
    const bool clean = state_ == State::Closing;
    finish(clean, clean ? "" : "server closed with " + std::to_string(close_code));
  }
}

void PusherClient::on_text(std::string_view text) {
  switch (classify(text)) {
    case ServerEvent::ConnectionEstablished:
      socket_id_ = socket_id_of(text);
      events_.on_established(*this);
      break;
    case ServerEvent::SubscriptionSucceeded:
      subscribed = true;
      members_known += number_after(text, "count").value_or(0);
      events_.on_subscribed(*this);
      break;
    case ServerEvent::MemberAdded:
      ++members_known;
      events_.on_member_added(*this);
      break;
    case ServerEvent::MemberRemoved:
      events_.on_member_removed(*this, text);
      break;
    case ServerEvent::Ping:
      send_text(R"({"event":"pusher:pong","data":{}})");
      break;
    case ServerEvent::SubscriptionError:
    case ServerEvent::Error:
      fail(std::string(text.substr(0, 200)));
      break;
    case ServerEvent::Other:
      events_.on_channel_event(*this, text);
      break;
    default:
      break;
  }
}

void PusherClient::subscribe(const Credentials& app, const std::string& channel,
                             const std::string& user_id) {
  namespace gp = greendot::protocol;
  std::string data = R"({"channel":)";
  append_json_string(data, channel);
  if (channel.starts_with("presence-")) {
    const std::string channel_data =
        R"({"user_id":")" + user_id + R"(","user_info":{"name":")" + user_id + R"("}})";
    const std::string auth =
        app.key + ":" +
        gp::hmac_sha256_hex(app.secret,
                            gp::presence_string_to_sign(socket_id_, channel, channel_data));
    data += R"(,"auth":)";
    append_json_string(data, auth);
    data += R"(,"channel_data":)";
    append_json_string(data, channel_data);
  } else if (channel.starts_with("private-")) {
    const std::string auth =
        app.key + ":" +
        gp::hmac_sha256_hex(app.secret, gp::channel_string_to_sign(socket_id_, channel));
    data += R"(,"auth":)";
    append_json_string(data, auth);
  }
  data += "}";
  send_text(R"({"event":"pusher:subscribe","data":)" + data + "}");
}

void PusherClient::send_text(std::string_view text) {
  if (state_ != State::Open) return;
  const std::uint32_t key = mask_counter_++;
  std::uint8_t mask[4];
  for (int i = 0; i < 4; ++i) mask[i] = static_cast<std::uint8_t>(key >> (8 * i));
  ws::append_frame(out_, ws::Opcode::Text, text, mask);
  flush();
}

// One write in flight at a time; whatever is queued meanwhile goes out in the next.
void PusherClient::flush() {
  if (write_pending_ || out_.empty()) return;
  write_pending_ = true;
  writing_.swap(out_);
  out_.clear();
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, g = generation_](const boost::system::error_code& ec, std::size_t) {
                      if (g != generation_) return;
                      write_pending_ = false;
                      writing_.clear();
                      if (state_ == State::Closed || state_ == State::Idle) return;
                      if (ec) return finish(state_ == State::Closing, "write: " + ec.message());
                      flush();
                    });
}

void PusherClient::close() {
  if (state_ != State::Open) return;
  std::uint8_t mask[4] = {9, 8, 7, 6};
  std::string payload = {char(0x03), char(0xE8)};  // 1000
  ws::append_frame(out_, ws::Opcode::Close, payload, mask);
  flush();
  state_ = State::Closing;
}

void PusherClient::abort() {
  if (state_ == State::Closed || state_ == State::Idle) return;
  finish(true, "");
}

void PusherClient::fail(std::string_view why) {
  finish(false, why);
}

void PusherClient::finish(bool clean, std::string_view why) {
  if (state_ == State::Closed || state_ == State::Idle) return;
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  std::string().swap(out_);
  events_.on_closed(*this, clean, why);
}

}  // namespace bench
