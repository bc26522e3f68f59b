// Shard: one event-loop thread and everything that belongs to it — its connections, their
// channel subscriptions and their liveness. Connections never move between shards, so a
// shard's state is only touched by its own thread; other threads reach it by posting.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <array>
#include <memory>
#include <span>
#include <thread>
#include <unordered_map>

#include "core/liveness_tracker.hpp"
#include "engine/broker.hpp"
#include "server/server_context.hpp"
#include "transport/local_fanout.hpp"

namespace greendot::transport {

// The wiring every transport shares (server/server_context.hpp).
using server::now_ms;
using server::ServerContext;

class Connection;
class SseStream;
using ConnectionListHook = boost::intrusive::list_base_hook<>;
struct StreamListTag;
using StreamListHook = boost::intrusive::list_base_hook<boost::intrusive::tag<StreamListTag>>;

class Shard final : public engine::MessageSink {
 public:
  Shard(ServerContext& context, unsigned index);
  ~Shard() override;

  boost::asio::io_context& io() { return io_; }
  ServerContext& context() { return context_; }
  LocalFanout& fanout() { return fanout_; }
  core::LivenessTracker& liveness() { return liveness_; }
  unsigned index() const { return index_; }
  // This thread's message counters (the dashboard's messages in and out).
  server::TrafficCounters::Thread& traffic() { return context_.traffic.thread(index_); }

  // Scratch space for socket reads, shared by all connections of this thread: an idle
  // connection holds no read buffer of its own.
  std::span<char> read_buffer() { return {read_buffer_->data(), read_buffer_->size()}; }

  void deliver(std::shared_ptr<const engine::ChannelMessage> message) override;

  // Puts a connection with queued frames on the list of the next flush pass (one per turn of
  // the loop, posted when the list stops being empty).
  void request_flush(std::shared_ptr<Connection> connection);

  void attach(Connection& connection);
  void detach(Connection& connection);
  // Server-Sent Events streams, for their keep-alives and shutdown (not counted above).
  void attach(SseStream& stream);
  void detach(SseStream& stream);

  // Readable from any thread.
  std::size_t connection_count() const { return connection_count_.load(); }

  // Connections signed in (pusher:signin) by user, for terminate_connections.
  void add_signed_in(core::AppIndex app, const std::string& user, Connection& connection);
  void remove_signed_in(core::AppIndex app, const std::string& user, Connection& connection);
  // Closes this thread's connections signed in as the user (thread-safe: posts).
  void terminate_user(core::AppIndex app, std::string user);

  // Runs the event loop on a new thread.
  void start();
  // Asks every connection to close with 4200 (reconnect elsewhere).
  void close_all_for_shutdown();
  void stop();
  void join();

 private:
  // The thread's body: a handler that throws is logged and the loop goes on, so that one bad
  // request cannot end the process and every connection with it.
  void run_loop();
  void schedule_sweep();
  void flush_pass();
  void send_keep_alives(core::Millis now);

  ServerContext& context_;
  unsigned index_;
  // No concurrency hint of 1: with it, Asio keeps posts made from the loop's own thread in a
  // private queue until the running handler returns, so a post from another thread made
  // later could run first. Presence ordering (a joiner's snapshot before the events that
  // follow it) relies on posts running in the order they were made.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer sweep_timer_;
  LocalFanout fanout_;
  core::LivenessTracker liveness_;
  std::unique_ptr<std::array<char, 64 * 1024>> read_buffer_;
  boost::intrusive::list<Connection, boost::intrusive::base_hook<ConnectionListHook>> connections_;
  boost::intrusive::list<SseStream, boost::intrusive::base_hook<StreamListHook>> streams_;
  core::Millis next_keep_alive_ = 0;
  std::unordered_multimap<std::string, Connection*> signed_in_;
  std::vector<std::shared_ptr<Connection>> to_flush_;
  std::vector<std::shared_ptr<Connection>> flushing_;  // kept for its capacity
  std::atomic<std::size_t> connection_count_{0};
  std::thread thread_;
};

}  // namespace greendot::transport
