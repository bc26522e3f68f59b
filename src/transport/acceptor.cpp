#include "transport/acceptor.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "protocol/json_text.hpp"

namespace greendot::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kFirstPause = std::chrono::milliseconds(100);
constexpr auto kLongestPause = std::chrono::milliseconds(1000);
constexpr auto kReportInterval = std::chrono::seconds(1);
// Waiting clients answered per failure, so that a flood cannot keep the thread busy.
constexpr int kRefusalsPerFailure = 16;

bool is_out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

void refuse_and_close(int fd, int status, std::string_view reason, std::string_view message) {
  std::string body = "{\"error\":";
  protocol::append_json_string(body, message);
  body.push_back('}');
  const std::string response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                               "\r\nServer: greendot\r\nContent-Type: application/json\r\n"
                               "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  // What the client already sent is read first: closing with unread input would be a reset
  // that can discard the answer before the client reads it.
  char scratch[4096];
  while (::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0) {
  }
  [[maybe_unused]] auto sent =
      ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

Acceptor::Acceptor(asio::io_context& io, PickContext pick, OnAccept on_accept)
    : acceptor_(io),
      pause_(io),
      pick_(std::move(pick)),
      on_accept_(std::move(on_accept)),
      backoff_(kFirstPause) {
  reserve_descriptor();
}

Acceptor::~Acceptor() {
  if (spare_ >= 0) ::close(spare_);
}

void Acceptor::reserve_descriptor() {
  if (spare_ < 0) spare_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Acceptor::bind(const tcp::endpoint& endpoint, boost::system::error_code& ec) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec) return;
  acceptor_.listen(asio::socket_base::max_listen_connections);
  // The reserve descriptor accepts directly on it, which must never block.
  acceptor_.non_blocking(true, ec);
}

std::uint16_t Acceptor::port() const {
  return acceptor_.local_endpoint().port();
}

void Acceptor::start() {
  accept_next();
}

void Acceptor::close() {
  closed_ = true;
  boost::system::error_code ignored;
  pause_.cancel();
  acceptor_.close(ignored);
}

void Acceptor::accept_next() {
  if (closed_) return;
  acceptor_.async_accept(pick_(), [this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || closed_) return;
    if (ec && is_out_of_descriptors(ec)) return out_of_descriptors(ec);
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      if (failing_) {
        spdlog::info(
            "accepting connections again ({} failed accepts, {} clients refused since the last "
            "report)",
            failures_unreported_, refused_unreported_);
        failures_unreported_ = refused_unreported_ = 0;
        failing_ = false;
      }
      backoff_ = kFirstPause;
      reserve_descriptor();  // if it was lost while descriptors were short
      on_accept_(std::move(socket));
    }
    accept_next();
  });
}

void Acceptor::out_of_descriptors(const boost::system::error_code& ec) {
  failing_ = true;
  ++failures_unreported_;
  refuse_waiting_clients();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_report_ >= kReportInterval) {
    spdlog::error(
        "accept failed: {} ({} times, {} waiting clients answered 503 since the last report); "
        "pausing accepts for {} ms. Raise the open-file limit (ulimit -n) or lower "
        "server.max_connections_total",
        ec.message(), failures_unreported_, refused_unreported_, backoff_.count());
    failures_unreported_ = refused_unreported_ = 0;
    last_report_ = now;
  }
  pause_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(kLongestPause));
  pause_.async_wait([this](const boost::system::error_code& wait_ec) {
    if (!wait_ec) accept_next();
  });
}

// The reserve descriptor is given up for a moment, so that a waiting client can be accepted
// and told to come back later instead of hanging in the backlog.
void Acceptor::refuse_waiting_clients() {
  for (int i = 0; i < kRefusalsPerFailure; ++i) {
    if (spare_ < 0) reserve_descriptor();
    if (spare_ < 0) return;
    ::close(spare_);
    spare_ = -1;
    const int fd =
        ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      refuse_and_close(fd, 503, "Service Unavailable",
                       "The server is out of file descriptors; try again shortly");
      ++refused_unreported_;
    }
    reserve_descriptor();
    if (fd < 0) return;  // none waiting (or none to be had)
  }
}

}  // namespace greendot::transport
