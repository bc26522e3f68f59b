#include "worker.hpp"

#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "clock.hpp"
#include "histogram.hpp"
#include "message_scan.hpp"
#include "pusher_client.hpp"

namespace bench {

namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

class Worker final : public ClientEvents {
 public:
  Worker(const Options& options, const WorkerPlan& plan)
      : options_(options),
        plan_(plan),
        app_{options.app_key, options.app_secret},
        servers_(endpoints(options)),
        input_(io_, ::dup(STDIN_FILENO)),
        step_timer_(io_),
        buffer_(std::make_unique<std::array<char, 256 * 1024>>()),
        events_by_server_(servers_.size(), 0),
        latency_by_server_(servers_.size()) {
    for (int i = 0; i < plan.count; ++i) {
      clients_.push_back(
          std::make_unique<PusherClient>(io_, *this, static_cast<std::uint32_t>(plan.first + i)));
    }
  }

  int run() {
    if (options_.scenario == "fanout" && options_.rx_timestamps) {
      PusherClient::enable_rx_timestamps();
    }
    read_command();
    io_.run();
    return 0;
  }

  // ---- ClientEvents ----
  std::span<char> read_buffer() override { return {buffer_->data(), buffer_->size()}; }

  void on_established(PusherClient& client) override {
    ++established_;
    if (step_ == Step::Churn) {
      // Each session is a user not in the room, so every one is a member_added and a
      // member_removed; with --churn-users the ids come round again (never two at once: the
      // pool is larger than the parallel sessions).
      std::uint64_t serial = churn_ids_[&client];
      if (options_.churn_users > 0) serial %= static_cast<std::uint64_t>(options_.churn_users);
      // Appended: GCC 12 at -O3 reports a false -Wrestrict for "c" + std::to_string(...).
      std::string user = "c";
      user.append(std::to_string(plan_.index)).append("-").append(std::to_string(serial));
      return client.subscribe(app_, channel_for(client.id()), user);
    }
    if (subscribe_on_open_) return subscribe(client);
    if (step_ == Step::Connect) ready(client);
  }

  void on_subscribed(PusherClient& client) override {
    ++subscribed_;
    if (step_ == Step::Churn) {
      churn_session_.record(mono_ns() - client.opened_at_ns);
      client.close();
      return;
    }
    if (step_ == Step::Connect) ready(client);
    check_done();
  }

  void on_member_added(PusherClient& client) override {
    ++member_added_;
    if (wait_members_ && client.members_known == wait_members_) check_done();
  }

  void on_member_removed(PusherClient&, std::string_view) override { ++member_removed_; }

  void on_channel_event(PusherClient& client, std::string_view text) override {
    const auto sent = number_after(text, "bench_t");
    if (!sent) return;
    const std::int64_t now = mono_ns();
    ++events_received_;
    latency_.record(now - static_cast<std::int64_t>(*sent));
    // Per node of a deployment (--ports): the trigger's node delivers its own subscribers,
    // the others hear of the event through the engine.
    const std::size_t node = client.id() % servers_.size();
    ++events_by_server_[node];
    latency_by_server_[node].record(now - static_cast<std::int64_t>(*sent));
    if (client.rx_kernel_ns != 0) {
      // Trigger -> the server's write (loopback: the segment is queued during its sendmsg), and
      // that write -> this process reading it (the generator's own queueing delay).
      server_side_.record(client.rx_kernel_ns - static_cast<std::int64_t>(*sent));
      generator_side_.record(now - client.rx_kernel_ns);
    }
    const auto seq = number_after(text, "seq").value_or(0);
    if (seq < 1'000'000) {
      if (seq >= seq_last_.size()) {
        seq_last_.resize(seq + 1, 0);
        seq_first_.resize(seq + 1, 0);
        seq_count_.resize(seq + 1, 0);
      }
      seq_last_[seq] = std::max(seq_last_[seq], now);
      if (seq_first_[seq] == 0 || now < seq_first_[seq]) seq_first_[seq] = now;
      ++seq_count_[seq];
    }
  }

  void on_closed(PusherClient& client, bool clean, std::string_view why) override {
    if (!clean) {
      ++errors_;
      if (error_samples_.size() < 5) error_samples_.emplace_back(why);
    }
    if (step_ == Step::Churn) {
      if (clean && client.subscribed) ++churn_sessions_;
      // Posted: the client is still inside its own completion handler.
      asio::post(io_, [this, &client] { churn_next(client); });
      return;
    }
    ++closed_;
    if (step_ == Step::Connect) ready(client);
    check_done();
  }

 private:
  enum class Step { None, Connect, Subscribe, Close, Churn };

  asio::ip::address source_for(std::uint32_t id) const {
    const unsigned last = 2 + 32 * static_cast<unsigned>(plan_.index) + id % 32;
    return asio::ip::make_address_v4("127.0.0." + std::to_string(last));
  }

  static std::vector<tcp::endpoint> endpoints(const Options& options) {
    const auto address = asio::ip::make_address(options.host);
    std::vector<tcp::endpoint> out;
    for (auto port : options.ports) out.emplace_back(address, port);
    if (out.empty()) out.emplace_back(address, options.port);
    return out;
  }
  const tcp::endpoint& server_for(std::uint32_t id) const { return servers_[id % servers_.size()]; }

  std::string channel_for(std::uint32_t id) const {
    return plan_.channel + std::to_string(id / static_cast<std::uint32_t>(plan_.room_size));
  }

  void subscribe(PusherClient& client) {
    std::string user = options_.user_prefix;
    user.append(std::to_string(client.id()));
    client.subscribe(app_, channel_for(client.id()), user);
  }

  // ---- commands ----
  void read_command() {
    asio::async_read_until(input_, input_buffer_, '\n',
                           [this](const boost::system::error_code& ec, std::size_t) {
                             if (ec) return io_.stop();
                             std::istream in(&input_buffer_);
                             std::string line;
                             std::getline(in, line);
                             execute(line);
                             read_command();
                           });
  }

  void execute(const std::string& line) {
    std::istringstream words(line);
    std::string command, arg;
    words >> command >> arg;
    step_started_ = mono_ns();
    arm_step_timer(command);
    if (command == "connect") {
      step_ = Step::Connect;
      subscribe_on_open_ = arg == "sub";
      next_to_open_ = 0;
      in_flight_ = 0;
      ready_ = 0;
      counted_ready_.assign(clients_.size(), false);
      connect_time_ = Histogram{};
      pump();
      check_done();
    } else if (command == "subscribe") {
      step_ = Step::Subscribe;
      if (arg == "wait") words >> wait_members_;
      for (auto& client : clients_) {
        if (client->is_open()) subscribe(*client);
      }
      check_done();
    } else if (command == "stats") {
      reply("stats", stats());
      if (arg == "reset") reset_stats();
    } else if (command == "close" || command == "abort") {
      step_ = Step::Close;
      for (auto& client : clients_) {
        if (command == "close") {
          client->close();
        } else {
          client->abort();
        }
      }
      check_done();
    } else if (command == "churn") {
      double seconds = std::stod(arg);
      int slots = 1;
      words >> slots;
      start_churn(seconds, std::min<int>(slots, static_cast<int>(clients_.size())));
    } else if (command == "quit") {
      io_.stop();
    } else {
      reply("error", {{"message", "unknown command " + command}});
    }
  }

  void arm_step_timer(const std::string& command) {
    step_timer_.expires_after(
        std::chrono::milliseconds(static_cast<long>(options_.step_timeout * 1000)));
    step_timer_.async_wait([this, command](const boost::system::error_code& ec) {
      if (ec || step_ == Step::None || step_ == Step::Churn) return;
      finish_step(command, true);
    });
  }

  // Starts handshakes up to the concurrency limit.
  void pump() {
    while (in_flight_ < options_.concurrency && next_to_open_ < clients_.size()) {
      auto& client = *clients_[next_to_open_++];
      ++in_flight_;
      client.open(server_for(client.id()), source_for(client.id()), options_.app_key);
    }
  }

  // A client finished its connect step (open, subscribed, or failed).
  void ready(PusherClient& client) {
    auto counted = counted_ready_.begin() + (client.id() - static_cast<std::uint32_t>(plan_.first));
    if (*counted) return;  // it closed after it was ready: already counted
    *counted = true;
    connect_time_.record(mono_ns() - client.opened_at_ns);
    --in_flight_;
    ++ready_;
    pump();
    check_done();
  }

  void check_done() {
    switch (step_) {
      case Step::Connect:
        if (ready_ == clients_.size()) finish_step("connect", false);
        break;
      case Step::Subscribe:
        for (auto& client : clients_) {
          if (!client->is_open()) continue;
          if (!client->subscribed) return;
          if (wait_members_ && client->members_known < wait_members_) return;
        }
        finish_step("subscribe", false);
        break;
      case Step::Close:
        for (auto& client : clients_) {
          if (client->active()) return;
        }
        finish_step("close", false);
        break;
      default:
        break;
    }
  }

  void finish_step(const std::string& name, bool timed_out) {
    step_ = Step::None;
    wait_members_ = 0;
    subscribe_on_open_ = false;
    step_timer_.cancel();
    json::object extra = stats();
    extra["timeout"] = timed_out;
    extra["done_ns"] = mono_ns();
    extra["step_ns"] = mono_ns() - step_started_;
    reply(name, std::move(extra));
  }

  // ---- churn ----
  void start_churn(double seconds, int slots) {
    step_ = Step::Churn;
    churn_until_ = mono_ns() + static_cast<std::int64_t>(seconds * 1e9);
    churn_active_ = slots;
    churn_sessions_ = 0;
    churn_session_ = Histogram{};
    for (int i = 0; i < slots; ++i) churn_next(*clients_[i]);
  }

  void churn_next(PusherClient& client) {
    if (mono_ns() >= churn_until_) {
      if (--churn_active_ == 0) {
        json::object extra = stats();
        extra["sessions"] = churn_sessions_;
        extra["session"] = churn_session_.to_json();
        extra["done_ns"] = mono_ns();
        extra["step_ns"] = mono_ns() - step_started_;
        step_ = Step::None;
        step_timer_.cancel();
        reply("churn", std::move(extra));
      }
      return;
    }
    churn_ids_[&client] = ++churn_serial_;
    client.open(server_for(client.id()), source_for(client.id() + churn_serial_), options_.app_key);
  }

  // ---- reports ----
  json::object stats() const {
    std::uint64_t open = 0, frames = 0;
    for (const auto& client : clients_) {
      open += client->is_open() ? 1 : 0;
      frames += client->frames_received;
    }
    json::array errors;
    for (const auto& e : error_samples_) errors.push_back(json::string(e));
    json::array by_server, latency_by_server;
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      by_server.push_back(events_by_server_[i]);
      latency_by_server.push_back(latency_by_server_[i].to_json());
    }
    json::array seq_last, seq_first, seq_count;
    for (std::size_t i = 0; i < seq_last_.size(); ++i) {
      seq_last.push_back(seq_last_[i]);
      seq_first.push_back(seq_first_[i]);
      seq_count.push_back(seq_count_[i]);
    }
    return {{"clients", clients_.size()},
            {"open", open},
            {"established", established_},
            {"subscribed", subscribed_},
            {"closed", closed_},
            {"errors", errors_},
            {"error_samples", std::move(errors)},
            {"member_added", member_added_},
            {"member_removed", member_removed_},
            {"frames", frames},
            {"events", events_received_},
            {"latency", latency_.to_json()},
            {"events_by_server", std::move(by_server)},
            {"latency_by_server", std::move(latency_by_server)},
            {"connect_time", connect_time_.to_json()},
            {"server_side", server_side_.to_json()},
            {"generator_side", generator_side_.to_json()},
            {"seq_last", std::move(seq_last)},
            {"seq_first", std::move(seq_first)},
            {"seq_count", std::move(seq_count)}};
  }

  void reset_stats() {
    member_added_ = member_removed_ = events_received_ = 0;
    latency_ = Histogram{};
    events_by_server_.assign(servers_.size(), 0);
    latency_by_server_.assign(servers_.size(), Histogram{});
    server_side_ = Histogram{};
    generator_side_ = Histogram{};
    seq_last_.clear();
    seq_first_.clear();
    seq_count_.clear();
  }

  void reply(const std::string& step, json::object body) {
    body["step"] = step;
    body["worker"] = plan_.index;
    std::string line = json::serialize(body);
    line.push_back('\n');
    for (std::size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  }

  const Options& options_;
  WorkerPlan plan_;
  Credentials app_;
  asio::io_context io_{1};
  std::vector<tcp::endpoint> servers_;
  asio::posix::stream_descriptor input_;
  asio::streambuf input_buffer_;
  asio::steady_timer step_timer_;
  std::unique_ptr<std::array<char, 256 * 1024>> buffer_;
  std::vector<std::unique_ptr<PusherClient>> clients_;

  Step step_ = Step::None;
  std::int64_t step_started_ = 0;
  bool subscribe_on_open_ = false;
  std::uint64_t wait_members_ = 0;
  std::size_t next_to_open_ = 0;
  int in_flight_ = 0;
  std::size_t ready_ = 0;
  std::vector<bool> counted_ready_;

  std::uint64_t established_ = 0, subscribed_ = 0, closed_ = 0, errors_ = 0;
  std::uint64_t member_added_ = 0, member_removed_ = 0, events_received_ = 0;
  std::vector<std::string> error_samples_;
  Histogram latency_, connect_time_, server_side_, generator_side_;
  std::vector<std::int64_t> seq_last_, seq_first_;
  std::vector<std::uint32_t> seq_count_;
  std::vector<std::uint64_t> events_by_server_;
  std::vector<Histogram> latency_by_server_;

  std::int64_t churn_until_ = 0;
  int churn_active_ = 0;
  std::uint64_t churn_sessions_ = 0;
  std::uint32_t churn_serial_ = 0;
  std::map<PusherClient*, std::uint32_t> churn_ids_;
  Histogram churn_session_;
};

}  // namespace

int run_worker(const Options& options, const WorkerPlan& plan) {
  Worker worker(options, plan);
  return worker.run();
}

}  // namespace bench
