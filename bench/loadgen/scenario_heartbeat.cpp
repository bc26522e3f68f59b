// Scenario 4, HTTP heartbeats (greendot's presence endpoints, src/api/presence_api.hpp).
//
//  heartbeat   pings per second: --hb-threads event loops (epoll), --concurrency kept-alive
//              HTTP/1.1 connections over all of them, --hb-depth requests pipelined on each,
//              users u0..u<hb_users - 1> round robin, each in context hb-<user % hb_rooms>.
//              --hb-auth signed: POST /apps/{id}/presence/heartbeat, every request signed
//              (auth_key, auth_timestamp, auth_version, body_md5, auth_signature);
//              --hb-auth token: POST /apps/{id}/client/ping with Authorization: Bearer <JWT>,
//              one token per user made once, as a page keeps its token.
//              With an app whose heartbeat_ttl_ms is short and a population that cannot be
//              pinged within the TTL, every ping is a join and every user expires ("with
//              expiries"); the report counts the server's removals seen by an observer then.
//  hb-offline  offline detection: an observer subscribed to presence-hb-0..<hb_rooms - 1>
//              timestamps member_removed. --hb-interval-ms 0: every user pings once; otherwise
//              every user pings every interval for --seconds and a --hb-stop-fraction of them
//              stops at a random moment of the run (under the load of the others). Reports
//              removal - (answer to the user's last ping + the TTL the server announced).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "clock.hpp"
#include "histogram.hpp"
#include "rest_client.hpp"
#include "scenarios.hpp"
#include "sync_client.hpp"

namespace bench {

namespace {

constexpr std::int64_t kMs = 1'000'000;

std::string user_name(int user) {
  // Appended rather than "u" + std::to_string(user), for which GCC 12 at -O3 reports a false
  // -Wrestrict overlap.
  std::string name = "u";
  name.append(std::to_string(user));
  return name;
}

std::string context_of(const Options& o, int user) {
  return "hb-" + std::to_string(user % std::max(1, o.hb_rooms));
}

bool token_auth(const Options& o) {
  return o.hb_auth == "token";
}

std::string ping_path(const Options& o) {
  return "/apps/" + o.app_id + (token_auth(o) ? "/client/ping" : "/presence/heartbeat");
}

// Builds complete HTTP/1.1 requests; one per event loop (the token cache is its own).
class RequestMaker {
 public:
  explicit RequestMaker(const Options& o) : o_(o), path_(ping_path(o)) {}

  void append(std::string& out, int user) {
    const std::string context = context_of(o_, user);
    std::string body;
    std::string target = path_;
    std::string auth;
    if (token_auth(o_)) {
      body = R"({"contexts":[")" + context + R"("]})";
      auto [it, fresh] = tokens_.try_emplace(user);
      if (fresh) it->second = user_token(o_.app_id, o_.app_secret, user_name(user), 3600);
      auth = "Authorization: Bearer " + it->second + "\r\n";
    } else {
      body = R"({"user_id":")" + user_name(user) + R"(","contexts":[")" + context + R"("]})";
      target = pusher_signed_target("POST", path_, body, o_.app_key, o_.app_secret);
    }
    out += "POST " + target + " HTTP/1.1\r\nHost: " + o_.host +
           "\r\nContent-Type: application/json\r\n" + auth +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

 private:
  const Options& o_;
  std::string path_;
  std::unordered_map<int, std::string> tokens_;
};

int open_connection(const Options& o) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(o.port);
  ::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One parsed response off the front of `in`; false when it is not complete yet.
bool take_response(std::string& in, std::size_t& consumed, int& status, std::string_view& body) {
  const std::size_t head_end = in.find("\r\n\r\n", consumed);
  if (head_end == std::string::npos) return false;
  const std::string_view head(in.data() + consumed, head_end - consumed);
  status = 0;
  if (head.size() > 12) status = std::atoi(std::string(head.substr(9, 3)).c_str());
  std::size_t length = 0;
  for (std::string_view name : {"Content-Length: ", "content-length: "}) {
    if (auto at = head.find(name); at != std::string_view::npos) {
      length = std::strtoul(head.data() + at + name.size(), nullptr, 10);
      break;
    }
  }
  if (in.size() < head_end + 4 + length) return false;
  body = std::string_view(in.data() + head_end + 4, length);
  consumed = head_end + 4 + length;
  return true;
}

struct LoopResult {
  std::uint64_t ok = 0, failed = 0, reconnects = 0, late = 0;
  Histogram latency;
  std::unordered_map<int, std::uint64_t> statuses;
  std::string error_sample;
  // hb-offline: each user's last successful ping: (user, sent, answered).
  std::vector<std::tuple<int, std::int64_t, std::int64_t>> last_ping;
};

// One event loop. Throughput: keeps `depth` pings in flight on each connection until
// `until_ns`. Paced (interval_ns > 0, or once): pings each of `users` when due.
class PingLoop {
 public:
  struct Conn {
    int fd = -1;
    std::string out, in;
    std::deque<std::pair<std::int64_t, int>> inflight;  // send time, user
    bool want_write = false;
  };

  PingLoop(const Options& o, int connections, std::vector<int> users, std::int64_t start_ns,
           std::int64_t until_ns, std::int64_t interval_ns, bool paced,
           std::vector<std::int64_t> stop_at)
      : o_(o),
        maker_(o),
        users_(std::move(users)),
        stop_at_(std::move(stop_at)),
        start_ns_(start_ns),
        until_ns_(until_ns),
        interval_ns_(interval_ns),
        paced_(paced),
        conns_(static_cast<std::size_t>(std::max(1, connections))) {}

  LoopResult run() {
    ep_ = ::epoll_create1(0);
    for (std::size_t i = 0; i < conns_.size(); ++i) connect(i);
    if (paced_) {
      // Spread the first pings over one interval (all at once when pinging once).
      const std::int64_t spread = interval_ns_ > 0 ? interval_ns_ : 0;
      for (std::size_t k = 0; k < users_.size(); ++k) {
        due_.push_back(
            {start_ns_ + static_cast<std::int64_t>(spread * static_cast<double>(k) / users_.size()),
             static_cast<int>(k)});
      }
      last_answer_.assign(users_.size(), 0);
      last_sent_.assign(users_.size(), 0);
    }
    std::vector<epoll_event> events(conns_.size() + 1);
    for (;;) {
      const std::int64_t now = mono_ns();
      if (now >= until_ns_ && (!paced_ || (outstanding() == 0 && due_.empty()))) break;
      if (paced_ && now >= until_ns_ + 5000 * kMs) break;  // answers lost: give up
      feed(now);
      int timeout_ms = 50;
      if (paced_ && !due_.empty()) {
        timeout_ms =
            static_cast<int>(std::clamp<std::int64_t>((due_.front().first - now) / kMs, 0, 50));
      }
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int e = 0; e < n; ++e) {
        const std::size_t i = events[e].data.u64;
        if (events[e].events & EPOLLOUT) flush(i);
        if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) receive(i);
      }
    }
    for (auto& c : conns_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(ep_);
    if (paced_) {
      for (std::size_t k = 0; k < users_.size(); ++k) {
        if (last_answer_[k] > 0) {
          r_.last_ping.push_back({users_[k], last_sent_[k], last_answer_[k]});
        }
      }
    }
    return std::move(r_);
  }

 private:
  std::size_t outstanding() const {
    std::size_t n = 0;
    for (const auto& c : conns_) n += c.inflight.size();
    return n;
  }

  void connect(std::size_t i) {
    Conn& c = conns_[i];
    if (c.fd >= 0) {
      ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    for (const auto& [sent, user] : c.inflight) {
      ++r_.failed;
      if (paced_) retry(user);
    }
    c = Conn{};
    c.fd = open_connection(o_);
    if (c.fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    c.want_write = true;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void retry(int k) { due_.push_front({mono_ns(), k}); }

  int next_user() {
    const int u = users_[cursor_];
    cursor_ = (cursor_ + 1) % users_.size();
    return u;
  }

  void send(std::size_t i, int k, std::int64_t now) {
    Conn& c = conns_[i];
    maker_.append(c.out, paced_ ? users_[k] : k);
    c.inflight.push_back({now, k});
  }

  void feed(std::int64_t now) {
    if (!paced_) {
      if (now >= until_ns_) return;
      for (std::size_t i = 0; i < conns_.size(); ++i) {
        Conn& c = conns_[i];
        if (c.fd < 0) {
          connect(i);
          continue;
        }
        bool added = false;
        while (c.inflight.size() < static_cast<std::size_t>(o_.hb_depth)) {
          send(i, next_user(), now);
          added = true;
        }
        if (added) flush(i);
      }
      return;
    }
    // Paced: the due users, each on the connection with the fewest pings in flight.
    while (!due_.empty() && due_.front().first <= now) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < conns_.size(); ++i) {
        if (conns_[i].inflight.size() < conns_[best].inflight.size()) best = i;
      }
      if (conns_[best].fd < 0) connect(best);
      if (conns_[best].inflight.size() >= static_cast<std::size_t>(o_.hb_depth)) break;
      const int k = due_.front().second;
      due_.pop_front();
      send(best, k, now);
    }
    for (std::size_t i = 0; i < conns_.size(); ++i) flush(i);
  }

  void flush(std::size_t i) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)) break;
      if (n < 0) {
        ++r_.reconnects;
        connect(i);
        return;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    const bool want = !c.out.empty();
    if (want != c.want_write) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
      ev.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      c.want_write = want;
    }
  }

  void receive(std::size_t i) {
    Conn& c = conns_[i];
    char chunk[65536];
    bool closed = false;
    for (;;) {
      const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        c.in.append(chunk, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof chunk) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      closed = true;
      break;
    }
    const std::int64_t now = mono_ns();
    std::size_t consumed = 0;
    int status;
    std::string_view body;
    while (!c.inflight.empty() && take_response(c.in, consumed, status, body)) {
      const auto [sent, k] = c.inflight.front();
      c.inflight.pop_front();
      ++r_.statuses[status];
      if (status >= 200 && status < 300) {
        if (now <= until_ns_ || paced_) {
          ++r_.ok;
          r_.latency.record(now - sent);
        } else {
          ++r_.late;  // answered after the window: not counted in the rate
        }
        if (paced_) answered(k, sent, now);
      } else {
        ++r_.failed;
        if (r_.error_sample.empty()) r_.error_sample = std::string(body.substr(0, 200));
        if (paced_) retry(k);
      }
    }
    c.in.erase(0, consumed);
    if (closed) {
      ++r_.reconnects;
      connect(i);
    }
  }

  void answered(int k, std::int64_t sent, std::int64_t now) {
    last_answer_[static_cast<std::size_t>(k)] = now;
    last_sent_[static_cast<std::size_t>(k)] = sent;
    if (interval_ns_ <= 0) return;  // once
    const std::int64_t next = now + interval_ns_;
    if (next >= until_ns_) return;
    if (stop_at_[static_cast<std::size_t>(k)] > 0 && next >= stop_at_[static_cast<std::size_t>(k)])
      return;
    // Intervals are equal, so the queue stays (nearly) sorted when appended to.
    due_.push_back({next, k});
  }

  const Options& o_;
  RequestMaker maker_;
  std::vector<int> users_;
  std::vector<std::int64_t> stop_at_;
  std::int64_t start_ns_, until_ns_, interval_ns_;
  bool paced_;
  std::vector<Conn> conns_;
  int ep_ = -1;
  std::size_t cursor_ = 0;
  std::deque<std::pair<std::int64_t, int>> due_;  // paced: (due time, index into users_)
  std::vector<std::int64_t> last_answer_, last_sent_;
  LoopResult r_;
};

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Subscribes to presence-hb-0..rooms-1 and records every member_removed / member_added.
class Observer {
 public:
  struct Removal {
    int user;
    std::int64_t at_ns;
  };

  explicit Observer(const Options& o) : client_(o.host, o.port, o.app_key, "127.0.0.251") {
    for (int r = 0; r < std::max(1, o.hb_rooms); ++r) {
      client_.subscribe(o.app_key, o.app_secret, "presence-hb-" + std::to_string(r), "observer");
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Observer() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<Removal> removals;
  std::uint64_t added = 0;
  std::uint64_t removed = 0;
  std::atomic<std::uint64_t> removed_live{0};

 private:
  void loop() {
    while (!stop_) {
      auto text = client_.next_text(std::chrono::milliseconds(50));
      if (!text) continue;
      const std::int64_t now = mono_ns();
      const bool is_removed = text->find("member_removed") != std::string::npos;
      if (text->find("member_added") != std::string::npos) ++added;
      if (!is_removed) continue;
      ++removed;
      ++removed_live;
      // {"event":"pusher_internal:member_removed","channel":..,"data":"{\"user_id\":\"u7\"}"}
      try {
        auto message = boost::json::parse(*text).as_object();
        auto data = boost::json::parse(message.at("data").as_string()).as_object();
        const auto id = data.at("user_id").as_string();
        if (id.size() > 1 && id[0] == 'u') {
          removals.push_back({std::atoi(id.c_str() + 1), now});
        }
      } catch (const std::exception&) {
      }
    }
  }

  SyncClient client_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The probe: one ping, so that a missing endpoint is reported instead of a figure, and the
// TTL the server announces ({"contexts":..,"ttl_ms":..}) is the one offline delays refer to.
std::optional<std::int64_t> probe(const Options& o, int user) {
  RestClient client(o.host, o.port);
  RequestMaker maker(o);
  std::string raw;
  maker.append(raw, user);
  // Split the request the maker built back into its parts for RestClient.
  const auto target_end = raw.find(" HTTP/1.1");
  const std::string target = raw.substr(5, target_end - 5);
  const std::string body = raw.substr(raw.find("\r\n\r\n") + 4);
  std::map<std::string, std::string> headers;
  if (auto at = raw.find("Authorization: "); at != std::string::npos) {
    headers["Authorization"] = raw.substr(at + 15, raw.find("\r\n", at) - at - 15);
  }
  const HttpResponse r = client.request("POST", target, body, headers);
  if (r.status < 200 || r.status >= 300) {
    print_report(o, {{"available", false},
                     {"probe_status", r.status},
                     {"probe_body", r.body.substr(0, 200)},
                     {"path", ping_path(o)}});
    return std::nullopt;
  }
  try {
    return boost::json::parse(r.body).as_object().at("ttl_ms").to_number<std::int64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

boost::json::object statuses_json(const std::unordered_map<int, std::uint64_t>& statuses) {
  boost::json::object out;
  for (const auto& [status, n] : statuses) out[std::to_string(status)] = n;
  return out;
}

}  // namespace

int run_heartbeat(const Options& o) {
  const auto ttl_ms = probe(o, o.hb_users);  // a user outside the population
  if (!ttl_ms) return 0;
  const int threads = std::max(1, o.hb_threads);
  const int connections = std::max(threads, o.concurrency);
  // With expiries: the observer counts the server's removals while the run goes on.
  std::unique_ptr<Observer> observer;
  if (o.hb_observe) observer = std::make_unique<Observer>(o);

  const ProcSample from = sample_process(o.server_pid);
  const double self_from = self_cpu_seconds();
  const std::int64_t start = mono_ns();
  const std::int64_t until = start + static_cast<std::int64_t>(o.seconds * 1e9);
  std::vector<LoopResult> results(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    // Thread t pings users t, t + threads, ...: distinct users on every connection.
    std::vector<int> users;
    for (int u = t; u < o.hb_users; u += threads) users.push_back(u);
    const int mine = connections / threads + (t < connections % threads ? 1 : 0);
    pool.emplace_back([&, t, mine, users = std::move(users)]() mutable {
      PingLoop loop(o, mine, std::move(users), start, until, 0, false, {});
      results[static_cast<std::size_t>(t)] = loop.run();
    });
  }
  for (auto& thread : pool) thread.join();
  const ProcSample to = sample_process(o.server_pid);
  const double self_cpu = self_cpu_seconds() - self_from;
  const double wall = static_cast<double>(mono_ns() - start) / 1e9;

  LoopResult all;
  for (auto& r : results) {
    all.ok += r.ok;
    all.failed += r.failed;
    all.late += r.late;
    all.reconnects += r.reconnects;
    all.latency.merge(r.latency);
    for (const auto& [s, n] : r.statuses) all.statuses[s] += n;
    if (all.error_sample.empty()) all.error_sample = r.error_sample;
  }
  boost::json::object report{
      {"available", true},
      {"auth", o.hb_auth},
      {"path", ping_path(o)},
      {"app_id", o.app_id},
      {"ttl_ms", *ttl_ms},
      {"users", o.hb_users},
      {"rooms", o.hb_rooms},
      {"threads", threads},
      {"connections", connections},
      {"pipeline_depth", o.hb_depth},
      {"ok", all.ok},
      {"failed", all.failed},
      {"reconnects", all.reconnects},
      {"answered_after_window", all.late},
      {"statuses", statuses_json(all.statuses)},
      {"error_sample", all.error_sample},
      {"pings_per_second", static_cast<double>(all.ok) / o.seconds},
      {"latency", all.latency.summary_ms()},
      {"server", server_delta(from, to)},
      {"server_cpu_us_per_ping",
       all.ok ? (to.cpu_seconds - from.cpu_seconds) * 1e6 / static_cast<double>(all.ok) : 0.0},
      {"generator_cpu_seconds", self_cpu},
      {"generator_cores", self_cpu / wall},
      {"generator_cpu_us_per_ping", all.ok ? self_cpu * 1e6 / static_cast<double>(all.ok) : 0.0}};
  if (observer) {
    // Each user was pinged about every users/rate seconds: longer than the TTL means joins
    // and expiries all along.
    const double rate = static_cast<double>(all.ok) / o.seconds;
    report["seconds_between_pings_of_a_user"] = rate > 0 ? o.hb_users / rate : 0.0;
    report["removals_during_run"] = observer->removed_live.load();
    observer->stop();
    report["observer"] = boost::json::object{{"member_added", observer->added},
                                             {"member_removed", observer->removed}};
  }
  print_report(o, std::move(report));
  return 0;
}

int run_heartbeat_offline(const Options& o) {
  const auto ttl = probe(o, o.hb_users);
  if (!ttl) return 0;
  const std::int64_t ttl_ns = *ttl * kMs;
  Observer observer(o);
  sleep_seconds(0.5);  // the probe user's own member_added / removal are not ours
  const int threads = std::max(1, o.hb_threads);
  const int connections = std::max(threads, o.concurrency);
  const bool once = o.hb_interval_ms <= 0;
  const std::int64_t start = mono_ns() + 100 * kMs;
  const std::int64_t until = once ? start : start + static_cast<std::int64_t>(o.seconds * 1e9);
  // Who stops early, and when: uniformly in the middle half of the run.
  std::mt19937 random(12345);
  std::uniform_real_distribution<double> moment(0.25, 0.75), coin(0, 1);
  std::vector<std::int64_t> stop_at(static_cast<std::size_t>(o.hb_users), 0);
  int stoppers = 0;
  if (!once) {
    for (auto& at : stop_at) {
      if (coin(random) < o.hb_stop_fraction) {
        at = start + static_cast<std::int64_t>(moment(random) * o.seconds * 1e9);
        ++stoppers;
      }
    }
  }
  const ProcSample from = sample_process(o.server_pid);
  std::vector<LoopResult> results(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    std::vector<int> users;
    std::vector<std::int64_t> stops;
    for (int u = t; u < o.hb_users; u += threads) {
      users.push_back(u);
      stops.push_back(stop_at[static_cast<std::size_t>(u)]);
    }
    const int mine = connections / threads + (t < connections % threads ? 1 : 0);
    pool.emplace_back([&, t, mine, users = std::move(users), stops = std::move(stops)]() mutable {
      PingLoop loop(o, mine, std::move(users), start, until,
                    once ? 0 : static_cast<std::int64_t>(o.hb_interval_ms) * kMs, true,
                    std::move(stops));
      results[static_cast<std::size_t>(t)] = loop.run();
    });
  }
  for (auto& thread : pool) thread.join();
  const ProcSample to = sample_process(o.server_pid);
  const std::int64_t pinging_ended = mono_ns();
  // Everyone's last ping is answered: wait for the last expiry, one sweep and a margin.
  sleep_seconds(static_cast<double>(*ttl) / 1000.0 + 2.0);
  observer.stop();

  std::vector<std::int64_t> last(static_cast<std::size_t>(o.hb_users), 0);
  std::vector<std::int64_t> last_answer(static_cast<std::size_t>(o.hb_users), 0);
  LoopResult all;
  for (auto& r : results) {
    all.ok += r.ok;
    all.failed += r.failed;
    for (const auto& [s, n] : r.statuses) all.statuses[s] += n;
    if (all.error_sample.empty()) all.error_sample = r.error_sample;
    for (const auto& [u, sent, answered] : r.last_ping) {
      last[static_cast<std::size_t>(u)] = sent;
      last_answer[static_cast<std::size_t>(u)] = answered;
    }
  }
  // For every user: its removals. The first one after its last ping was sent is the expiry;
  // any removal before that is an early (false) expiry of a user who was still pinging.
  std::vector<std::int64_t> removal(static_cast<std::size_t>(o.hb_users), 0);
  std::uint64_t early = 0, foreign = 0;
  for (const auto& r : observer.removals) {
    if (r.user < 0 || r.user >= o.hb_users) {
      ++foreign;
      continue;
    }
    auto& at = removal[static_cast<std::size_t>(r.user)];
    if (last[static_cast<std::size_t>(r.user)] > 0 &&
        r.at_ns < last[static_cast<std::size_t>(r.user)]) {
      ++early;
      continue;
    }
    if (at == 0) at = r.at_ns;
  }
  Histogram stopped_mid_run, stopped_at_end, early_hist, from_answer;
  std::int64_t min_delay = std::numeric_limits<std::int64_t>::max();
  int missed = 0, never_answered = 0;
  for (int u = 0; u < o.hb_users; ++u) {
    const auto lu = static_cast<std::size_t>(u);
    if (last[lu] == 0) {
      ++never_answered;
      continue;
    }
    if (removal[lu] == 0) {
      ++missed;
      continue;
    }
    // From the send of the last ping (the server stamps it later: an upper bound of the
    // server's delay) and, as a lower bound, from its answer.
    const std::int64_t delay = removal[lu] - (last[lu] + ttl_ns);
    from_answer.record(std::max<std::int64_t>(0, removal[lu] - (last_answer[lu] + ttl_ns)));
    min_delay = std::min(min_delay, delay);
    if (delay < 0) {
      early_hist.record(-delay);
      continue;
    }
    (stop_at[lu] > 0 ? stopped_mid_run : stopped_at_end).record(delay);
  }
  const double pinging_seconds = static_cast<double>(pinging_ended - start) / 1e9;
  boost::json::object report{
      {"auth", o.hb_auth},
      {"app_id", o.app_id},
      {"ttl_ms", *ttl},
      {"users", o.hb_users},
      {"rooms", o.hb_rooms},
      {"mode", once ? "once" : "continuous"},
      {"interval_ms", o.hb_interval_ms},
      {"stoppers", stoppers},
      {"ok", all.ok},
      {"failed", all.failed},
      {"statuses", statuses_json(all.statuses)},
      {"error_sample", all.error_sample},
      {"pings_per_second", pinging_seconds > 0 ? static_cast<double>(all.ok) / pinging_seconds : 0},
      {"never_answered", never_answered},
      {"missed_removals", missed},
      {"early_removals_before_last_ping", early},
      {"removed_before_ttl", early_hist.summary_ms()},
      {"foreign_removals", foreign},
      {"min_delay_ms", min_delay == std::numeric_limits<std::int64_t>::max()
                           ? 0.0
                           : static_cast<double>(min_delay) / 1e6},
      {"observer",
       boost::json::object{{"member_added", observer.added}, {"member_removed", observer.removed}}},
      {"server", server_delta(from, to)}};
  // removal - (last ping sent + TTL)
  report["delay_after_ttl_from_answer"] = from_answer.summary_ms();
  if (once) {
    report["delay_after_ttl"] = stopped_at_end.summary_ms();
  } else {
    report["delay_after_ttl_stopped_mid_run"] = stopped_mid_run.summary_ms();
    report["delay_after_ttl_stopped_at_end"] = stopped_at_end.summary_ms();
  }
  print_report(o, std::move(report));
  return 0;
}

}  // namespace bench
