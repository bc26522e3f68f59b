// A node's crash seen from the others (engine "redis"): --connections presence members on the
// node at --port, in rooms of --room-size (presence-crash-0, -1, ...), and --observers
// observers of every room on each node of --ports. Once every observer has seen every member,
// the generator kills the members' node (--kill-pid, SIGKILL; the kill's time is taken on
// CLOCK_MONOTONIC just before) and times every member_removed each observer sees from it,
// until each has seen its room's members leave, and --linger-seconds more. Each removal should
// arrive exactly once per observer: removals that came twice, never, or for someone who did not
// leave are counted. The bound is the node lease (a dead node's sessions are swept by another
// node once its lease has ended) plus the sweep interval. At the end each observers' node is
// asked for the rooms' users (GET /apps/{id}/channels/{room}/users): no member should be left.
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clock.hpp"
#include "histogram.hpp"
#include "message_scan.hpp"
#include "pusher_client.hpp"
#include "rest_client.hpp"
#include "scenarios.hpp"

namespace bench {

namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

class CrashObserve final : public ClientEvents {
 public:
  explicit CrashObserve(const Options& o)
      : o_(o),
        app_{o.app_key, o.app_secret},
        members_(std::max(1, o.connections)),
        room_size_(std::max(1, std::min(o.room_size, members_))),
        rooms_((members_ + room_size_ - 1) / room_size_),
        buffer_(std::make_unique<std::array<char, 256 * 1024>>()) {
    const auto address = asio::ip::make_address(o.host);
    victim_ = tcp::endpoint(address, o.port);
    for (auto port : o.ports) observer_nodes_.emplace_back(address, port);
    // Clients 0 .. members-1 are the members; the observers follow, node by node, room by room.
    for (int i = 0; i < members_; ++i) {
      clients_.push_back(std::make_unique<PusherClient>(io_, *this, static_cast<std::uint32_t>(i)));
    }
    for (std::size_t node = 0; node < observer_nodes_.size(); ++node) {
      for (int room = 0; room < rooms_; ++room) {
        for (int k = 0; k < o.observers; ++k) {
          Observer observer;
          observer.node = node;
          observer.room = room;
          observer.user =
              "obs-" + std::to_string(node) + "-" + std::to_string(room) + "-" + std::to_string(k);
          observer.removals.assign(static_cast<std::size_t>(members_in(room)), 0);
          observers_.push_back(std::move(observer));
          clients_.push_back(std::make_unique<PusherClient>(
              io_, *this, static_cast<std::uint32_t>(clients_.size())));
        }
      }
    }
  }

  int run() {
    const std::int64_t started = mono_ns();
    // Observers first: they then learn of every member by member_added.
    for (std::size_t j = 0; j < observers_.size(); ++j) {
      observer_client(j).open(observer_nodes_[observers_[j].node], source_for(j + members_),
                              o_.app_key);
    }
    const bool observers_ready =
        run_until([this] { return observers_subscribed_ == observers_.size(); });
    pump_members();
    const bool members_ready = observers_ready && run_until([this] {
                                 return members_subscribed_ == static_cast<std::size_t>(members_);
                               });
    const bool all_seen = members_ready && run_until([this] { return everyone_seen(); });
    const double setup_seconds = ms_between(started, mono_ns()) / 1000;
    run_for(o_.settle_seconds);

    const std::vector<ProcSample> survivors_from = sample_processes(o_.server_pids);
    const bool ready = all_seen && member_drops_before_kill_ == 0 && observer_drops_ == 0;
    bool killed = false;
    if (ready && o_.kill_pid > 0) {
      kill_ns_ = mono_ns();
      killed = ::kill(o_.kill_pid, SIGKILL) == 0;
      if (!killed) kill_error_ = std::strerror(errno);
    }
    bool complete = false;
    if (killed) {
      complete = run_until([this] { return distinct_ == expected_removals(); });
      run_for(o_.linger_seconds);
    }
    const std::vector<double> survivors_cpu =
        cpu_seconds_between(survivors_from, sample_processes(o_.server_pids));
    report(setup_seconds, all_seen, killed, complete, survivors_cpu, still_listed());
    return ready && killed ? 0 : 1;
  }

  // ---- ClientEvents ----
  std::span<char> read_buffer() override { return {buffer_->data(), buffer_->size()}; }

  void on_established(PusherClient& client) override {
    if (is_member(client)) {
      std::string user = "m";
      user.append(std::to_string(client.id()));
      return client.subscribe(app_, room_name(static_cast<int>(client.id()) / room_size_), user);
    }
    const Observer& observer = observers_[observer_index(client)];
    client.subscribe(app_, room_name(observer.room), observer.user);
  }

  void on_subscribed(PusherClient& client) override {
    if (!is_member(client)) {
      ++observers_subscribed_;
      return;
    }
    ++members_subscribed_;
    --in_flight_;
    pump_members();
  }

  void on_member_added(PusherClient&) override {}

  void on_member_removed(PusherClient& client, std::string_view text) override {
    const std::int64_t now = mono_ns();
    if (is_member(client)) return;  // a member hearing of another: its node is the one killed
    Observer& observer = observers_[observer_index(client)];
    const std::string user = user_id_of(text);
    int member = -1;
    if (user.size() > 1 && user[0] == 'm') {
      const auto [end, ec] = std::from_chars(user.data() + 1, user.data() + user.size(), member);
      if (ec != std::errc() || end != user.data() + user.size()) member = -1;
    }
    const int first = observer.room * room_size_;
    if (kill_ns_ == 0 || member < first || member >= first + members_in(observer.room)) {
      ++unexpected_;
      if (unexpected_samples_.size() < 5) {
        unexpected_samples_.push_back(observer.user + " saw " + user +
                                      (kill_ns_ == 0 ? " removed before the kill" : " removed"));
      }
      return;
    }
    auto& count = observer.removals[static_cast<std::size_t>(member - first)];
    if (++count > 1) {
      ++duplicates_;
      if (duplicate_samples_.size() < 5) {
        duplicate_samples_.push_back(observer.user + " saw " + user + " removed " +
                                     std::to_string(count) + " times");
      }
      return;
    }
    ++distinct_;
    const std::int64_t since_kill = now - kill_ns_;
    every_removal_.record(since_kill);
    if (observer.first_ns == 0) observer.first_ns = now;
    observer.last_ns = now;
  }

  void on_channel_event(PusherClient&, std::string_view) override {}

  void on_closed(PusherClient& client, bool, std::string_view why) override {
    if (is_member(client)) {
      if (kill_ns_ == 0) {
        ++member_drops_before_kill_;
        if (error_samples_.size() < 5) error_samples_.emplace_back(why);
        if (!client.subscribed) {  // still counted as in flight
          --in_flight_;
          asio::post(io_, [this] { pump_members(); });
        }
      } else {
        ++members_ended_;
        members_ended_last_ns_ = mono_ns();
      }
      return;
    }
    ++observer_drops_;
    if (error_samples_.size() < 5) error_samples_.emplace_back("observer: " + std::string(why));
  }

 private:
  struct Observer {
    std::size_t node = 0;  // index into --ports
    int room = 0;
    std::string user;
    std::vector<std::uint16_t> removals;  // per member of the room: member_removed seen
    std::int64_t first_ns = 0, last_ns = 0;
  };

  int members_in(int room) const { return std::min(room_size_, members_ - room * room_size_); }
  std::string room_name(int room) const { return "presence-crash-" + std::to_string(room); }
  bool is_member(const PusherClient& client) const {
    return client.id() < static_cast<std::uint32_t>(members_);
  }
  std::size_t observer_index(const PusherClient& client) const {
    return client.id() - static_cast<std::uint32_t>(members_);
  }
  PusherClient& observer_client(std::size_t j) {
    return *clients_[static_cast<std::size_t>(members_) + j];
  }
  static asio::ip::address source_for(std::size_t id) {
    return asio::ip::make_address_v4("127.0.0." + std::to_string(2 + id % 32));
  }
  std::size_t observers_per_room() const {
    return observer_nodes_.size() * static_cast<std::size_t>(std::max(0, o_.observers));
  }
  std::uint64_t expected_removals() const {
    std::uint64_t total = 0;
    for (const auto& observer : observers_) total += observer.removals.size();
    return total;
  }

  // Every observer knows its whole room: the members and the room's observers.
  bool everyone_seen() const {
    for (std::size_t j = 0; j < observers_.size(); ++j) {
      const auto want =
          static_cast<std::uint64_t>(members_in(observers_[j].room)) + observers_per_room();
      if (clients_[static_cast<std::size_t>(members_) + j]->members_known < want) return false;
    }
    return true;
  }

  void pump_members() {
    while (in_flight_ < o_.concurrency && next_member_ < members_) {
      ++in_flight_;
      const int id = next_member_++;
      clients_[static_cast<std::size_t>(id)]->open(
          victim_, source_for(static_cast<std::size_t>(id)), o_.app_key);
    }
  }

  // Drives the clients until `done` or the step timeout.
  bool run_until(const std::function<bool()>& done) {
    const std::int64_t until = mono_ns() + static_cast<std::int64_t>(o_.step_timeout * 1e9);
    while (!done()) {
      if (mono_ns() > until) return false;
      io_.run_for(std::chrono::milliseconds(5));
      if (io_.stopped()) io_.restart();
    }
    return true;
  }

  void run_for(double seconds) {
    const std::int64_t until = mono_ns() + static_cast<std::int64_t>(seconds * 1e9);
    while (mono_ns() < until) {
      io_.run_for(std::chrono::milliseconds(5));
      if (io_.stopped()) io_.restart();
    }
  }

  // Per observers' node: members of the rooms its users API still lists (-1: no answer).
  std::vector<std::int64_t> still_listed() const {
    std::vector<std::int64_t> out;
    for (const auto& node : observer_nodes_) {
      RestClient rest(o_.host, node.port());
      std::int64_t listed = 0;
      for (int room = 0; room < rooms_ && listed >= 0; ++room) {
        const std::string path = "/apps/" + o_.app_id + "/channels/" + room_name(room) + "/users";
        const HttpResponse answer = rest.request(
            "GET", pusher_signed_target("GET", path, "", o_.app_key, o_.app_secret), "");
        if (answer.status != 200) {
          listed = -1;
          break;
        }
        for (auto at = answer.body.find("\"id\":\"m"); at != std::string::npos;
             at = answer.body.find("\"id\":\"m", at + 1)) {
          ++listed;
        }
      }
      out.push_back(listed);
    }
    return out;
  }

  void report(double setup_seconds, bool all_seen, bool killed, bool complete,
              const std::vector<double>& survivors_cpu, const std::vector<std::int64_t>& listed) {
    std::uint64_t missed = 0;
    json::array missed_samples;
    Histogram last_per_observer, first_per_observer;
    std::vector<Histogram> last_by_node(observer_nodes_.size());
    for (const auto& observer : observers_) {
      for (std::size_t m = 0; m < observer.removals.size(); ++m) {
        if (observer.removals[m] != 0) continue;
        ++missed;
        if (missed_samples.size() < 5) {
          missed_samples.push_back(json::string(
              observer.user + " never saw m" +
              std::to_string(observer.room * room_size_ + static_cast<int>(m)) + " removed"));
        }
      }
      if (observer.last_ns != 0) {
        last_per_observer.record(observer.last_ns - kill_ns_);
        first_per_observer.record(observer.first_ns - kill_ns_);
        last_by_node[observer.node].record(observer.last_ns - kill_ns_);
      }
    }
    // Exact times (the histograms' buckets are 1.6 % wide: ~130 ms at 8 s).
    std::int64_t first_ns = 0, last_ns = 0;
    json::array last_ms_each;
    for (const auto& observer : observers_) {
      if (observer.first_ns != 0 && (first_ns == 0 || observer.first_ns < first_ns)) {
        first_ns = observer.first_ns;
      }
      last_ns = std::max(last_ns, observer.last_ns);
      last_ms_each.push_back(observer.last_ns ? ms_between(kill_ns_, observer.last_ns) : 0.0);
    }
    json::array nodes;
    for (std::size_t i = 0; i < observer_nodes_.size(); ++i) {
      json::object node{{"port", observer_nodes_[i].port()},
                        {"kill_to_last_removal_per_observer", last_by_node[i].summary_ms()}};
      if (i < survivors_cpu.size()) node["cpu_seconds_from_settle_to_end"] = survivors_cpu[i];
      if (i < listed.size()) node["members_still_listed"] = listed[i];
      nodes.push_back(std::move(node));
    }
    auto strings = [](const std::vector<std::string>& samples) {
      json::array out;
      for (const auto& s : samples) out.push_back(json::string(s));
      return out;
    };
    print_report(o_, {{"members", members_},
                      {"rooms", rooms_},
                      {"room_size", room_size_},
                      {"members_port", victim_.port()},
                      {"observers", observers_.size()},
                      {"observers_per_room", observers_per_room()},
                      {"setup_seconds", setup_seconds},
                      {"all_seen_before_kill", all_seen},
                      {"member_drops_before_kill", member_drops_before_kill_},
                      {"observer_drops", observer_drops_},
                      {"error_samples", strings(error_samples_)},
                      {"killed", killed},
                      {"kill_error", kill_error_},
                      {"member_connections_ended", members_ended_},
                      {"kill_to_member_connections_ended_ms",
                       members_ended_last_ns_ ? ms_between(kill_ns_, members_ended_last_ns_) : 0.0},
                      {"removals_expected", expected_removals()},
                      {"removals_distinct", distinct_},
                      {"all_removed", complete},
                      {"missed", missed},
                      {"missed_samples", std::move(missed_samples)},
                      {"duplicates", duplicates_},
                      {"duplicate_samples", strings(duplicate_samples_)},
                      {"unexpected", unexpected_},
                      {"unexpected_samples", strings(unexpected_samples_)},
                      {"linger_seconds", o_.linger_seconds},
                      {"kill_to_removal", every_removal_.summary_ms()},
                      {"kill_to_first_removal_ms", first_ns ? ms_between(kill_ns_, first_ns) : 0.0},
                      {"kill_to_last_removal_ms", last_ns ? ms_between(kill_ns_, last_ns) : 0.0},
                      {"first_to_last_removal_ms", last_ns ? ms_between(first_ns, last_ns) : 0.0},
                      {"kill_to_last_removal_ms_each_observer", std::move(last_ms_each)},
                      {"kill_to_first_removal_per_observer", first_per_observer.summary_ms()},
                      {"kill_to_last_removal_per_observer", last_per_observer.summary_ms()},
                      {"observer_nodes", std::move(nodes)}});
  }

  const Options& o_;
  Credentials app_;
  const int members_, room_size_, rooms_;
  asio::io_context io_{1};
  // Keeps run_for waiting (not spinning) while no client has work pending.
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  tcp::endpoint victim_;
  std::vector<tcp::endpoint> observer_nodes_;
  std::unique_ptr<std::array<char, 256 * 1024>> buffer_;
  std::vector<std::unique_ptr<PusherClient>> clients_;
  std::vector<Observer> observers_;

  int next_member_ = 0, in_flight_ = 0;
  std::size_t observers_subscribed_ = 0, members_subscribed_ = 0;
  std::uint64_t member_drops_before_kill_ = 0, observer_drops_ = 0, members_ended_ = 0;
  std::int64_t kill_ns_ = 0, members_ended_last_ns_ = 0;
  std::string kill_error_;
  std::uint64_t distinct_ = 0, duplicates_ = 0, unexpected_ = 0;
  std::vector<std::string> error_samples_, duplicate_samples_, unexpected_samples_;
  Histogram every_removal_;
};

}  // namespace

int run_crash_observe(const Options& options) {
  if (options.ports.empty() || options.kill_pid <= 0) {
    std::fprintf(stderr, "crash-observe needs --ports (the observers' nodes) and --kill-pid\n");
    return 2;
  }
  CrashObserve run(options);
  return run.run();
}

}  // namespace bench
