// Server: wires settings, apps, engine, broker and event-loop threads together, accepts
// connections, and shuts down gracefully on SIGTERM or SIGINT.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "engine/embedded_engine.hpp"
#include "engine/local_broker.hpp"
#include "engine/redis/redis_engine.hpp"
#include "server/app_registry.hpp"
#include "server/server_context.hpp"
#include "storage/user_store.hpp"
#include "transport/acceptor.hpp"
#include "transport/connection_slots.hpp"
#include "transport/shard.hpp"
#include "webhooks/webhook_dispatcher.hpp"

namespace greendot::server {

using transport::Acceptor;
using transport::Admission;
using transport::ConnectionSlots;
using transport::Shard;

class Server {
 public:
  explicit Server(config::Settings settings);
  ~Server();

  // Binds the listening socket; throws with a clear message when it cannot.
  void bind();
  // The port actually bound (useful when port 0 asked for any free one).
  std::uint16_t port() const;
  // Runs until SIGTERM/SIGINT and the graceful shutdown are done; returns the exit code.
  int run();

 private:
  std::vector<std::unique_ptr<Shard>> make_shards();
  boost::asio::io_context& next_context();
  void on_accepted(boost::asio::ip::tcp::socket socket);
  void report_refusal(Admission admission, const std::string& address);
  void tick_engine();
  void trim_memory_now_and_then();
  void begin_shutdown();
  void wait_for_connections_to_close(int attempts_left);

  std::unique_ptr<engine::EmbeddedEngine> make_embedded_engine();
  std::unique_ptr<engine::redis_engine::RedisEngine> make_redis_engine();
  engine::Broker& broker();

  config::Settings settings_;
  AppRegistry apps_;
  webhooks::WebhookDispatcher webhooks_;
  // One of the two engines, as [engine] kind says; the embedded one brokers locally.
  engine::LocalBroker local_broker_;
  std::unique_ptr<storage::UserStore> users_;
  std::unique_ptr<engine::EmbeddedEngine> embedded_;
  std::unique_ptr<engine::redis_engine::RedisEngine> redis_;
  engine::PresenceEngine& engine_;
  ServerContext context_;
  std::vector<std::unique_ptr<Shard>> shards_;
  ConnectionSlots slots_;
  Acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer engine_timer_;
  int ticks_since_trim_ = 0;
  boost::asio::steady_timer shutdown_timer_;
  std::size_t next_shard_ = 0;
  // Refused admissions since the last log line (acceptor thread only).
  std::uint64_t refusals_unreported_ = 0;
  std::chrono::steady_clock::time_point last_refusal_report_{};
};

}  // namespace greendot::server
