#include "sync_client.hpp"

#include "protocol/json_text.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "message_scan.hpp"
#include "protocol/signature.hpp"

namespace bench {

namespace ws = greendot::protocol::websocket;
namespace gp = greendot::protocol;

namespace {

sockaddr_in address_of(const std::string& host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    throw std::runtime_error("not an IPv4 address: " + host);
  }
  return a;
}

}  // namespace

SyncClient::SyncClient(const std::string& host, int port, const std::string& app_key,
                       const std::string& source)
    : parser_(ws::Role::Client, 64 << 20) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in local = address_of(source, 0);
  ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
  sockaddr_in server = address_of(host, port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port));
  }
  write_all("GET /app/" + app_key + "?protocol=7&client=greendot-bench HTTP/1.1\r\nHost: " + host +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string head;
  char c;
  // Byte by byte so that no frame byte is read past the head: a handful of reads, once.
  while (!head.ends_with("\r\n\r\n")) {
    if (::read(fd_, &c, 1) != 1) throw std::runtime_error("handshake: connection closed");
    head.push_back(c);
  }
  if (!head.starts_with("HTTP/1.1 101")) throw std::runtime_error("handshake: " + head);
  auto established = wait_for("pusher:connection_established", std::chrono::seconds(5));
  if (!established) throw std::runtime_error("no pusher:connection_established");
  socket_id_ = socket_id_of(*established);
}

SyncClient::~SyncClient() {
  if (fd_ >= 0) ::close(fd_);
}

void SyncClient::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n <= 0) throw std::runtime_error("write failed");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void SyncClient::send_text(std::string_view text) {
  std::string frame;
  const std::uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  ws::append_frame(frame, ws::Opcode::Text, text, mask);
  write_all(frame);
}

bool SyncClient::read_some(std::chrono::milliseconds timeout) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buffer[65536];
  const ssize_t n = ::read(fd_, buffer, sizeof buffer);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  parser_.feed(std::string_view(buffer, static_cast<std::size_t>(n)),
               [this](const ws::ParsedEvent& event) {
                 if (event.kind == ws::ParsedEvent::Kind::Text) {
                   if (classify(event.payload) == ServerEvent::Ping) {
                     send_text(R"({"event":"pusher:pong","data":{}})");
                   } else {
                     messages_.emplace_back(event.payload);
                   }
                 } else if (event.kind == ws::ParsedEvent::Kind::Close) {
                   closed_ = true;
                 }
               });
  return true;
}

std::optional<std::string> SyncClient::next_text(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (messages_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (!read_some(left) && closed_)) return std::nullopt;
  }
  std::string text = std::move(messages_.front());
  messages_.pop_front();
  return text;
}

std::optional<std::string> SyncClient::wait_for(std::string_view needle,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto text = next_text(left);
    if (!text) return std::nullopt;
    if (text->find(needle) != std::string::npos) return text;
  }
}

void SyncClient::subscribe(const std::string& key, const std::string& secret,
                           const std::string& channel, const std::string& user_id) {
  std::string data = "{\"channel\":" + greendot::protocol::json_string(channel);
  if (channel.starts_with("presence-")) {
    const std::string channel_data = R"({"user_id":")" + user_id + R"(","user_info":{}})";
    data += ",\"auth\":" + greendot::protocol::json_string(
                               key + ":" +
                               gp::hmac_sha256_hex(secret, gp::presence_string_to_sign(
                                                               socket_id_, channel, channel_data)));
    data += ",\"channel_data\":" + greendot::protocol::json_string(channel_data);
  } else if (channel.starts_with("private-")) {
    data += ",\"auth\":" +
            greendot::protocol::json_string(
                key + ":" +
                gp::hmac_sha256_hex(secret, gp::channel_string_to_sign(socket_id_, channel)));
  }
  send_text(R"({"event":"pusher:subscribe","data":)" + data + "}}");
  for (;;) {
    auto text = next_text(std::chrono::seconds(10));
    if (!text) throw std::runtime_error("no answer to the subscription of " + channel);
    const auto kind = classify(*text);
    if (kind == ServerEvent::SubscriptionSucceeded) return;
    if (kind == ServerEvent::SubscriptionError || kind == ServerEvent::Error) {
      throw std::runtime_error("subscription refused: " + *text);
    }
  }
}

void SyncClient::close_handshake() {
  std::string frame;
  const std::uint8_t mask[4] = {1, 2, 3, 4};
  const char code[2] = {char(0x03), char(0xE8)};
  ws::append_frame(frame, ws::Opcode::Close, std::string_view(code, 2), mask);
  write_all(frame);
}

bool SyncClient::close_like_a_browser(std::chrono::milliseconds timeout) {
  close_handshake();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    read_some(left);
  }
  const bool answered = closed_;
  drop();
  return answered;
}

void SyncClient::drop() {
  ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

}  // namespace bench
