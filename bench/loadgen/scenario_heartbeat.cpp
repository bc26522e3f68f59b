// Scenario 4, HTTP heartbeats: threads with one kept-alive connection each send pings as fast
// as answers come, for users u0..u<hb_users>, signed (Pusher REST signature) or with a browser
// token. The endpoint is greendot's presence extension (issues 4 and 5); while it answers 404
// the report says so instead of inventing a figure.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clock.hpp"
#include "histogram.hpp"
#include "rest_client.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

std::string expand(std::string text, const std::string& name, const std::string& value) {
  for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at)) {
    text.replace(at, name.size(), value);
    at += value.size();
  }
  return text;
}

HttpResponse ping(RestClient& client, const Options& o, int user) {
  const std::string id = "u" + std::to_string(user);
  const std::string path = expand(expand(o.hb_path, "{app_id}", o.app_id), "{user}", id);
  std::string body = R"({"user_id":")" + id + R"(","context":"bench")";
  if (o.hb_ttl_ms > 0) body += ",\"ttl_ms\":" + std::to_string(o.hb_ttl_ms);
  if (o.hb_auth == "token") {
    body += ",\"token\":\"" + user_token(o.app_secret, id, 600) + "\"}";
    return client.request("POST", path, body);
  }
  body += "}";
  if (o.hb_auth == "signed") {
    return client.request("POST", pusher_signed_target("POST", path, body, o.app_key, o.app_secret),
                          body);
  }
  return client.request("POST", path, body);
}

}  // namespace

int run_heartbeat(const Options& o) {
  RestClient probe_client(o.host, o.port);
  const HttpResponse probe = ping(probe_client, o, 0);
  if (probe.status < 200 || probe.status >= 300) {
    print_report(o, {{"available", false},
                     {"probe_status", probe.status},
                     {"probe_body", probe.body.substr(0, 200)},
                     {"path", o.hb_path}});
    return 0;
  }
  const int threads = std::max(1, o.concurrency);
  std::atomic<std::uint64_t> ok{0}, failed{0};
  std::mutex merge;
  Histogram latency;
  const ProcSample from = sample_process(o.server_pid);
  const std::int64_t until = mono_ns() + static_cast<std::int64_t>(o.seconds * 1e9);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      RestClient client(o.host, o.port);
      Histogram mine;
      for (int i = t; mono_ns() < until; i += threads) {
        const std::int64_t start = mono_ns();
        const HttpResponse r = ping(client, o, i % o.hb_users);
        mine.record(mono_ns() - start);
        (r.status >= 200 && r.status < 300 ? ok : failed)++;
      }
      std::lock_guard lock(merge);
      latency.merge(mine);
    });
  }
  for (auto& thread : pool) thread.join();
  const ProcSample to = sample_process(o.server_pid);
  print_report(o, {{"available", true},
                   {"auth", o.hb_auth},
                   {"ttl_ms", o.hb_ttl_ms},
                   {"connections", threads},
                   {"ok", ok.load()},
                   {"failed", failed.load()},
                   {"pings_per_second", static_cast<double>(ok.load()) / o.seconds},
                   {"latency", latency.summary_ms()},
                   {"server", server_delta(from, to)}});
  return 0;
}

}  // namespace bench
