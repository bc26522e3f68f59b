#include "transport/shard.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <chrono>

#include "transport/connection.hpp"
#include "transport/sse_stream.hpp"

namespace greendot::transport {

namespace asio = boost::asio;

namespace {

// How often silent connections are looked for: the granularity of ping and 4201 timing.
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
// How often SSE streams get a comment line, so that proxies do not close them as idle.
constexpr core::Millis kKeepAliveInterval = 15000;

}  // namespace

Shard::Shard(ServerContext& context, unsigned index)
    : context_(context),
      index_(index),
      work_(asio::make_work_guard(io_)),
      sweep_timer_(io_),
      liveness_(core::Millis{context.settings.activity_timeout_s} * 1000,
                core::Millis{context.settings.pong_timeout_s} * 1000),
      read_buffer_(std::make_unique<std::array<char, 64 * 1024>>()) {}

Shard::~Shard() {
  connections_.clear();
  streams_.clear();
  to_flush_.clear();
}

void Shard::deliver(std::shared_ptr<const engine::ChannelMessage> message) {
  asio::post(io_, [this, message = std::move(message)] { fanout_.deliver(*message); });
}

void Shard::request_flush(std::shared_ptr<Connection> connection) {
  to_flush_.push_back(std::move(connection));
  if (to_flush_.size() == 1) asio::post(io_, [this] { flush_pass(); });
}

void Shard::flush_pass() {
  // Connections asking during the pass (a write error closes one) go to the next pass.
  flushing_.swap(to_flush_);
  for (auto& connection : flushing_) connection->flush();
  flushing_.clear();
}

void Shard::attach(Connection& connection) {
  connections_.push_back(connection);
  ++connection_count_;
}

void Shard::detach(Connection& connection) {
  if (!connection.is_linked()) return;
  connections_.erase(connections_.iterator_to(connection));
  --connection_count_;
}

void Shard::attach(SseStream& stream) {
  streams_.push_back(stream);
}

void Shard::detach(SseStream& stream) {
  if (stream.StreamListHook::is_linked()) streams_.erase(streams_.iterator_to(stream));
}

namespace {

std::string user_key(core::AppIndex app, const std::string& user) {
  return std::to_string(app) + "\n" + user;
}

}  // namespace

void Shard::add_signed_in(core::AppIndex app, const std::string& user, Connection& connection) {
  signed_in_.emplace(user_key(app, user), &connection);
}

void Shard::remove_signed_in(core::AppIndex app, const std::string& user, Connection& connection) {
  auto [first, last] = signed_in_.equal_range(user_key(app, user));
  for (auto it = first; it != last; ++it) {
    if (it->second == &connection) {
      signed_in_.erase(it);
      return;
    }
  }
}

void Shard::terminate_user(core::AppIndex app, std::string user) {
  asio::post(io_, [this, app, user = std::move(user)] {
    auto [first, last] = signed_in_.equal_range(user_key(app, user));
    std::vector<std::shared_ptr<Connection>> targets;
    for (auto it = first; it != last; ++it) targets.push_back(it->second->shared_from_this());
    for (auto& connection : targets) {
      connection->close(4009, "The application terminated this user's connections");
    }
  });
}

void Shard::start() {
  next_keep_alive_ = now_ms() + kKeepAliveInterval;
  schedule_sweep();
  thread_ = std::thread([this] { run_loop(); });
}

void Shard::run_loop() {
  for (;;) {
    try {
      io_.run();  // returns once stopped; after an exception it can be called again
      return;
    } catch (const std::exception& e) {
      spdlog::error("thread {}: a handler failed ({}); serving on", index_, e.what());
    } catch (...) {
      spdlog::error("thread {}: a handler failed (unknown exception); serving on", index_);
    }
  }
}

void Shard::schedule_sweep() {
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    liveness_.sweep(
        now_ms(), [](core::LivenessEntry& entry) { static_cast<Connection&>(entry).send_ping(); },
        [](core::LivenessEntry& entry) { static_cast<Connection&>(entry).expire(); });
    send_keep_alives(now_ms());
    schedule_sweep();
  });
}

// All streams of the shard at once, on the sweep: no timer per stream. A stream opened just
// before a round gets its first comment early, which is harmless.
void Shard::send_keep_alives(core::Millis now) {
  if (now < next_keep_alive_) return;
  next_keep_alive_ = now + kKeepAliveInterval;
  // keep_alive() never unlinks synchronously (a slow reader's end is posted).
  for (auto& stream : streams_) stream.keep_alive();
}

void Shard::close_all_for_shutdown() {
  asio::post(io_, [this] {
    // Closing does not unlink synchronously, but hold each connection anyway while the
    // list is walked.
    std::vector<std::shared_ptr<Connection>> all;
    all.reserve(connections_.size());
    for (auto& connection : connections_) all.push_back(connection.shared_from_this());
    for (auto& connection : all) connection->close(4200, "Server is shutting down; reconnect");
    // Streams end their body; EventSource then reconnects, to another node behind a balancer.
    std::vector<std::shared_ptr<SseStream>> streams;
    for (auto& stream : streams_) streams.push_back(stream.shared_from_this());
    for (auto& stream : streams) stream->close();
  });
}

void Shard::stop() {
  work_.reset();
  io_.stop();
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace greendot::transport
