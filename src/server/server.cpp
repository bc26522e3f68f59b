#include "server/server.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "redis/make_client.hpp"
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

// Sockets being told they are over a limit, at most, beyond the limits themselves.
constexpr std::size_t kMaxRefusing = 64;
// Descriptors kept for everything but clients: the listening socket, each thread's epoll and
// timers, the database, webhook deliveries, logs, the acceptor's reserve, and the refusals.
constexpr std::size_t kReservedDescriptors = 64 + kMaxRefusing;
constexpr auto kRefusalReportInterval = std::chrono::seconds(1);

// Uses every descriptor the hard limit allows (the soft limit is often 1024), and derives the
// connection limit from it unless max_connections_total is given: clients are refused with an
// answer before the process runs out.
std::size_t connection_limit(const config::ServerSettings& settings) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_max != RLIM_INFINITY &&
      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  ::getrlimit(RLIMIT_NOFILE, &files);
  const std::size_t open_files = files.rlim_cur == RLIM_INFINITY ? 1 << 20 : files.rlim_cur;
  if (settings.max_connections_total != 0) {
    if (settings.max_connections_total + kReservedDescriptors > open_files) {
      spdlog::warn(
          "server.max_connections_total ({}) is more than the open-file limit ({}) "
          "allows; past about {} connections accepts fail until some close",
          settings.max_connections_total, open_files,
          open_files > kReservedDescriptors ? open_files - kReservedDescriptors : 0);
    }
    return settings.max_connections_total;
  }
  return open_files > 2 * kReservedDescriptors ? open_files - kReservedDescriptors : open_files / 2;
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
    if (redis_) {
      redis_->add_sink(*shards.back());
    } else {
      local_broker_.add_sink(*shards.back());
    }
  }
  return shards;
}

// Accepting, signals and housekeeping run on the first shard's thread.
Server::Server(config::Settings settings)
    : settings_(std::move(settings)),
      apps_(settings_.apps),
      webhooks_(settings_.apps),
      embedded_(make_embedded_engine()),
      redis_(make_redis_engine()),
      engine_(redis_ ? static_cast<engine::PresenceEngine&>(*redis_) : *embedded_),
      context_{settings_.server, apps_, engine_, broker(), webhooks_, {}},
      shards_(make_shards()),
      slots_(connection_limit(settings_.server), settings_.server.max_connections_per_ip,
             kMaxRefusing),
      acceptor_(
          shards_.front()->io(), [this]() -> asio::io_context& { return next_context(); },
          [this](tcp::socket socket) { on_accepted(std::move(socket)); }),
      signals_(shards_.front()->io(), SIGINT, SIGTERM),
      engine_timer_(shards_.front()->io()),
      shutdown_timer_(shards_.front()->io()) {
  context_.webhook_counts = &webhooks_.counts();
  context_.sockets_open = [this] { return slots_.admitted(); };
  context_.max_sockets = slots_.max_total();
  context_.run_on_loop = [this](std::function<void()> work) {
    asio::post(shards_.front()->io(), std::move(work));
  };
  auto terminate_here = [this](core::AppIndex app, const std::string& user) {
    for (auto& shard : shards_) shard->terminate_user(app, user);
  };
  if (redis_) {
    redis_->on_terminate(terminate_here);
    context_.terminate_user = [this](core::AppIndex app, const std::string& user) {
      redis_->terminate_everywhere(app, user);
    };
  } else {
    context_.terminate_user = terminate_here;
  }
}

std::unique_ptr<engine::EmbeddedEngine> Server::make_embedded_engine() {
  if (settings_.engine.kind != config::EngineKind::Embedded) return nullptr;
  users_ = open_user_store(settings_.server.data_dir);
  return std::make_unique<engine::EmbeddedEngine>(local_broker_, webhooks_, *users_,
                                                  app_ids(settings_.apps), now_ms, unix_ms);
}

std::unique_ptr<engine::redis_engine::RedisEngine> Server::make_redis_engine() {
  const auto& engine = settings_.engine;
  if (engine.kind != config::EngineKind::Redis) return nullptr;
  redis::RedisSettings redis;
  std::string_view urls = engine.redis_url;
  while (true) {
    const auto comma = urls.find(',');
    redis.urls.emplace_back(urls.substr(0, comma));
    if (comma == std::string_view::npos) break;
    urls.remove_prefix(comma + 1);
  }
  redis.cluster = engine.redis_cluster || redis.urls.size() > 1;
  redis.options.command_timeout = std::chrono::milliseconds(engine.redis_timeout_ms);
  redis.tls.ca_file = engine.redis_ca_file;
  engine::redis_engine::RedisEngineOptions options;
  options.key_prefix = engine.key_prefix;
  options.node_lease = std::chrono::milliseconds(engine.node_lease_ms);
  options.reconnect_max = redis.options.max_backoff;
  spdlog::info("presence is shared through Redis ({}{}, key prefix \"{}\")",
               redis.cluster ? "Cluster, " : "", redis.urls.size() == 1 ? "one URL" : "seeds",
               options.key_prefix);
  return std::make_unique<engine::redis_engine::RedisEngine>(
      [redis](asio::io_context& io) { return redis::make_redis_client(io, redis); }, options,
      webhooks_, app_ids(settings_.apps));
}

engine::Broker& Server::broker() {
  if (redis_) return *redis_;
  return local_broker_;
}

Server::~Server() = default;

void Server::bind() {
  const auto& s = settings_.server;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.host, ec);
  if (ec) throw std::runtime_error("server.host: not an IP address: " + s.host);
  tcp::endpoint endpoint(address, s.port);
  acceptor_.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + s.host + ":" + std::to_string(s.port) + ": " +
                             ec.message());
  }
}

std::uint16_t Server::port() const {
  return acceptor_.port();
}

int Server::run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signal);
    begin_shutdown();
  });
  if (redis_) redis_->start();
  acceptor_.start();
  tick_engine();
  if (webhooks_.has_targets()) webhooks_.start();
  for (auto& shard : shards_) shard->start();
  spdlog::info("greendot listening on {}:{} with {} threads and {} apps", settings_.server.host,
               port(), shards_.size(), apps_.size());
  spdlog::info("at most {} connections, {} per client address", slots_.max_total(),
               slots_.max_per_address() == 0 ? std::string("any number")
                                             : std::to_string(slots_.max_per_address()));
  for (auto& shard : shards_) shard->join();
  // Before the shards go: the Redis engine's thread delivers to them.
  if (redis_) redis_->stop();
  webhooks_.stop();
  spdlog::info("greendot stopped");
  return 0;
}

// Connections are spread over the shards in turn; each lives on its shard for good.
asio::io_context& Server::next_context() {
  Shard& shard = *shards_[next_shard_];
  next_shard_ = (next_shard_ + 1) % shards_.size();
  return shard.io();
}

// Every accepted socket holds a slot until it is closed. One over a limit is still served
// far enough to be told so in a way its client understands (see serve_http).
void Server::on_accepted(tcp::socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // gone already
  auto slot = slots_.take(remote.address());
  if (!slot || !slot->admitted()) {
    report_refusal(slot ? slot->admission() : Admission::OverTotal,
                   ConnectionSlots::address_key(remote.address()));
  }
  if (!slot) {
    return transport::refuse_and_close(
        socket.release(), 503, "Service Unavailable",
        "The server has reached its connection limit; try again shortly");
  }
  auto& context = socket.get_executor().context();
  for (auto& shard_ptr : shards_) {
    if (&shard_ptr->io() != &context) continue;
    Shard& shard = *shard_ptr;
    asio::post(shard.io(), [&shard, socket = std::move(socket), slot = std::move(*slot)]() mutable {
      transport::serve_http(shard, std::move(socket), std::move(slot));
    });
    return;
  }
}

void Server::report_refusal(Admission admission, const std::string& address) {
  ++refusals_unreported_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_report_ < kRefusalReportInterval) return;
  if (admission == Admission::OverPerAddress) {
    spdlog::warn(
        "refusing connections: {} has server.max_connections_per_ip ({}) open; {} "
        "refused since the last report",
        address, slots_.max_per_address(), refusals_unreported_);
  } else {
    spdlog::warn(
        "refusing connections: server.max_connections_total ({}) reached; {} refused "
        "since the last report",
        slots_.max_total(), refusals_unreported_);
  }
  refusals_unreported_ = 0;
  last_refusal_report_ = now;
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
  acceptor_.close();
  // Before the connections close: their leaving would otherwise start graces that never end,
  // and the application would never hear that these members left.
  engine_.shut_down();
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
