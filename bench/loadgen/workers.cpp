#include "workers.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>

#include "proc_stats.hpp"
#include "worker.hpp"

namespace bench {

namespace json = boost::json;

Workers::Workers(const Options& options, int connections, const std::string& channel,
                 int room_size) {
  std::fflush(stdout);
  const int processes = std::max(1, std::min(options.processes, connections));
  for (int i = 0; i < processes; ++i) {
    WorkerPlan plan;
    plan.index = i;
    plan.first = connections * i / processes;
    plan.count = connections * (i + 1) / processes - plan.first;
    plan.channel = channel;
    plan.room_size = std::max(1, room_size);
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) {
      std::perror("pipe");
      std::exit(1);
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      std::exit(1);
    }
    if (pid == 0) {
      for (auto& other : children_) {
        ::close(other.to);
        ::close(other.from);
      }
      ::dup2(down[0], STDIN_FILENO);
      ::dup2(up[1], STDOUT_FILENO);
      ::close(down[0]);
      ::close(down[1]);
      ::close(up[0]);
      ::close(up[1]);
      std::_Exit(run_worker(options, plan));
    }
    ::close(down[0]);
    ::close(up[1]);
    children_.push_back(Child{pid, down[1], up[0], {}});
  }
}

Workers::~Workers() {
  for (auto& child : children_) {
    (void)!::write(child.to, "quit\n", 5);
    ::close(child.to);
  }
  for (auto& child : children_) {
    ::close(child.from);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
  }
}

Replies Workers::step(const std::string& command) {
  return step_each(std::vector<std::string>(children_.size(), command));
}

Replies Workers::step_each(const std::vector<std::string>& commands) {
  for (std::size_t i = 0; i < children_.size(); ++i) {
    const std::string line = commands[i] + "\n";
    if (::write(children_[i].to, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      std::perror("write to worker");
      std::exit(1);
    }
  }
  Replies replies;
  for (auto& child : children_) replies.push_back(read_reply(child));
  return replies;
}

json::object Workers::read_reply(Child& child) {
  for (;;) {
    const auto newline = child.pending.find('\n');
    if (newline != std::string::npos) {
      std::string line = child.pending.substr(0, newline);
      child.pending.erase(0, newline + 1);
      return json::parse(line).as_object();
    }
    char buffer[65536];
    const ssize_t n = ::read(child.from, buffer, sizeof buffer);
    if (n <= 0) {
      std::fprintf(stderr, "a worker process ended unexpectedly\n");
      std::exit(1);
    }
    child.pending.append(buffer, static_cast<std::size_t>(n));
  }
}

double Workers::cpu_seconds() const {
  double total = 0;
  for (const auto& child : children_) total += sample_process(child.pid).cpu_seconds;
  return total;
}

std::uint64_t Workers::sum(const Replies& replies, const char* key) {
  std::uint64_t total = 0;
  for (const auto& r : replies) {
    if (const auto* v = r.if_contains(key)) {
      total += v->is_bool() ? v->as_bool() : v->to_number<std::uint64_t>();
    }
  }
  return total;
}

std::int64_t Workers::max_of(const Replies& replies, const char* key) {
  std::int64_t best = 0;
  for (const auto& r : replies) {
    if (const auto* v = r.if_contains(key)) {
      best =
          std::max<std::int64_t>(best, v->is_bool() ? v->as_bool() : v->to_number<std::int64_t>());
    }
  }
  return best;
}

Histogram Workers::merged(const Replies& replies, const char* key) {
  Histogram h;
  for (const auto& r : replies) {
    if (const auto* v = r.if_contains(key)) h.merge(Histogram::from_json(v->as_array()));
  }
  return h;
}

json::array Workers::error_samples(const Replies& replies) {
  json::array out;
  for (const auto& r : replies) {
    if (const auto* v = r.if_contains("error_samples")) {
      for (const auto& e : v->as_array()) {
        if (out.size() < 5) out.push_back(e);
      }
    }
  }
  return out;
}

}  // namespace bench
