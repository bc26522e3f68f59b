#include "transport/dashboard_stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <charconv>
#include <chrono>

#include "api/dashboard_api.hpp"
#include "transport/discard_input.hpp"

namespace greendot::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kEvery = std::chrono::seconds(1);

constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\n"
    "Server: greendot\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-store\r\n"
    "Connection: keep-alive\r\n"
    "Transfer-Encoding: chunked\r\n"
    "X-Accel-Buffering: no\r\n\r\n";

// One SSE event as one chunk of the chunked body.
std::string chunk_of_event(std::string_view json) {
  std::string event = "event: stats\ndata: ";
  event.append(json).append("\n\n");
  char size[16];
  auto end = std::to_chars(std::begin(size), std::end(size), event.size(), 16).ptr;
  return std::string(size, end) + "\r\n" + event + "\r\n";
}

}  // namespace

std::optional<api::RestResponse> open_dashboard_stream(Shard& shard, tcp::socket& socket,
                                                       ConnectionSlot& slot) {
  if (shard.context().stopping) {
    return api::rest_error(503, "Server is shutting down; reconnect");
  }
  std::make_shared<DashboardStream>(shard, std::move(socket), std::move(slot))->start();
  return std::nullopt;
}

DashboardStream::DashboardStream(Shard& shard, tcp::socket socket, ConnectionSlot slot)
    : shard_(shard), socket_(std::move(socket)), slot_(std::move(slot)), timer_(shard.io()) {}

void DashboardStream::start() {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  wait_readable();
  write(std::string(kHead));
}

void DashboardStream::send_stats() {
  if (finished_) return;
  if (shard_.context().stopping) return write("0\r\n\r\n");  // the body ends; then closed
  api::collect_dashboard_stats(shard_.context(), [self = shared_from_this()](std::string json) {
    asio::post(self->shard_.io(), [self, json = std::move(json)] {
      if (!self->finished_) self->write(chunk_of_event(json));
    });
  });
}

// The next event is collected a second after this write has been taken by the socket.
void DashboardStream::write(std::string bytes) {
  writing_ = std::move(bytes);
  const bool last = writing_.starts_with("0\r\n");
  asio::async_write(
      socket_, asio::buffer(writing_),
      [self = shared_from_this(), last](const boost::system::error_code& ec, std::size_t) {
        if (ec || last) return self->finish();
        self->timer_.expires_after(self->writing_.starts_with("HTTP/") ? std::chrono::seconds(0)
                                                                       : kEvery);
        self->timer_.async_wait([self](const boost::system::error_code& ec) {
          if (!ec) self->send_stats();
        });
      });
}

// The page has nothing to say; end of input (a closed tab) ends the stream.
void DashboardStream::wait_readable() {
  if (finished_) return;
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec || !discard_ready_input(self->socket_, self->shard_.read_buffer())) {
                         return self->finish();
                       }
                       self->wait_readable();
                     });
}

void DashboardStream::finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  slot_.release();
}

}  // namespace greendot::transport
