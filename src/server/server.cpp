#include "server/server.hpp"

#include <malloc.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "storage/memory_user_store.hpp"
#include "storage/sqlite_user_store.hpp"
#include "transport/http_session.hpp"

namespace greendot::server {

namespace asio = boost::asio;
using asio::ip::tcp;

core::Millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

// How often the engine ends graces: the granularity of member_removed timing.
constexpr auto kEngineTick = std::chrono::milliseconds(100);
// Free heap memory is returned to the system every this many ticks (10 s).
constexpr int kTicksPerMemoryTrim = 100;
// How long shutdown waits for close frames to be written before it stops anyway.
constexpr int kShutdownPolls = 30;
constexpr auto kShutdownPoll = std::chrono::milliseconds(100);

std::unique_ptr<storage::UserStore> open_user_store(const std::string& data_dir) {
  if (data_dir.empty()) {
    spdlog::warn("no data_dir: last seen and privacy are kept in memory only");
    return std::make_unique<storage::MemoryUserStore>();
  }
  const auto path = std::filesystem::path(data_dir) / "greendot.sqlite3";
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    throw std::runtime_error("server.data_dir: cannot create " + data_dir + ": " + ec.message());
  return std::make_unique<storage::SqliteUserStore>(path);
}

std::vector<std::string> app_ids(const std::vector<config::AppConfig>& apps) {
  std::vector<std::string> ids;
  for (const auto& app : apps) ids.push_back(app.id);
  return ids;
}

core::Millis unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

unsigned thread_count(std::uint32_t configured) {
  if (configured != 0) return configured;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::vector<std::unique_ptr<Shard>> Server::make_shards() {
  std::vector<std::unique_ptr<Shard>> shards;
  const unsigned threads = thread_count(settings_.server.threads);
  for (unsigned i = 0; i < threads; ++i) {
    shards.push_back(std::make_unique<Shard>(context_, i));
    broker_.add_sink(*shards.back());
  }
  return shards;
}

// Accepting, signals and housekeeping run on the first shard's thread.
Server::Server(config::Settings settings)
    : settings_(std::move(settings)),
      apps_(settings_.apps),
      webhooks_(settings_.apps),
      users_(open_user_store(settings_.server.data_dir)),
      engine_(broker_, webhooks_, *users_, app_ids(settings_.apps), now_ms, unix_ms),
      context_{settings_.server, apps_, engine_, broker_, webhooks_, {}},
      shards_(make_shards()),
      acceptor_(shards_.front()->io()),
      signals_(shards_.front()->io(), SIGINT, SIGTERM),
      engine_timer_(shards_.front()->io()),
      shutdown_timer_(shards_.front()->io()) {
  context_.terminate_user = [this](core::AppIndex app, const std::string& user) {
    for (auto& shard : shards_) shard->terminate_user(app, user);
  };
}

Server::~Server() = default;

void Server::bind() {
  const auto& s = settings_.server;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.host, ec);
  if (ec) throw std::runtime_error("server.host: not an IP address: " + s.host);
  tcp::endpoint endpoint(address, s.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + s.host + ":" + std::to_string(s.port) + ": " +
                             ec.message());
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

std::uint16_t Server::port() const {
  return acceptor_.local_endpoint().port();
}

int Server::run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signal);
    begin_shutdown();
  });
  accept_next();
  tick_engine();
  if (webhooks_.has_targets()) webhooks_.start();
  for (auto& shard : shards_) shard->start();
  spdlog::info("greendot listening on {}:{} with {} threads and {} apps", settings_.server.host,
               port(), shards_.size(), apps_.size());
  for (auto& shard : shards_) shard->join();
  webhooks_.stop();
  spdlog::info("greendot stopped");
  return 0;
}

void Server::accept_next() {
  // Connections are spread over the shards in turn; each lives on its shard for good.
  Shard& shard = *shards_[next_shard_];
  next_shard_ = (next_shard_ + 1) % shards_.size();
  acceptor_.async_accept(shard.io(),
                         [this, &shard](const boost::system::error_code& ec, tcp::socket socket) {
                           if (ec == asio::error::operation_aborted) return;
                           if (!ec) {
                             asio::post(shard.io(), [&shard, socket = std::move(socket)]() mutable {
                               transport::serve_http(shard, std::move(socket));
                             });
                           } else {
                             // Out of file descriptors and the like: keep serving those already
                             // connected.
                             spdlog::warn("accept failed: {}", ec.message());
                           }
                           if (!context_.stopping) accept_next();
                         });
}

void Server::tick_engine() {
  engine_timer_.expires_after(kEngineTick);
  engine_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    engine_.tick(now_ms());
    trim_memory_now_and_then();
    tick_engine();
  });
}

// glibc keeps what the threads free in their arenas for reuse; after a burst (a join storm,
// reconnect waves) that memory stays resident though nothing uses it. Handing the free pages
// back now and then lets the resident size follow the live heap down again.
void Server::trim_memory_now_and_then() {
  if (++ticks_since_trim_ < kTicksPerMemoryTrim) return;
  ticks_since_trim_ = 0;
  ::malloc_trim(0);
}

void Server::begin_shutdown() {
  if (context_.stopping.exchange(true)) return;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& shard : shards_) shard->close_all_for_shutdown();
  wait_for_connections_to_close(kShutdownPolls);
}

void Server::wait_for_connections_to_close(int attempts_left) {
  shutdown_timer_.expires_after(kShutdownPoll);
  shutdown_timer_.async_wait([this, attempts_left](const boost::system::error_code&) {
    // Counts are read across threads only to decide when to stop; being a poll late is fine.
    std::size_t open = 0;
    for (auto& shard : shards_) open += shard->connection_count();
    if (open > 0 && attempts_left > 0) return wait_for_connections_to_close(attempts_left - 1);
    engine_timer_.cancel();
    for (auto& shard : shards_) shard->stop();
  });
}

}  // namespace greendot::server
