// The coordinator's side of the worker processes: forks them (each with its share of the
// clients and its own source addresses), sends each step to all, and merges their answers.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "histogram.hpp"
#include "options.hpp"

namespace bench {

using Replies = std::vector<boost::json::object>;

class Workers {
 public:
  // `connections` clients over options.processes processes; client n is user u<n> in channel
  // `channel` + n / room_size.
  Workers(const Options& options, int connections, const std::string& channel, int room_size);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Sends `command` to every worker; returns when each has answered.
  Replies step(const std::string& command);
  // Sends a different command to each worker (e.g. its share of churn slots).
  Replies step_each(const std::vector<std::string>& commands);
  std::size_t size() const { return children_.size(); }
  // CPU seconds the workers have used so far.
  double cpu_seconds() const;

  static std::uint64_t sum(const Replies& replies, const char* key);
  static std::int64_t max_of(const Replies& replies, const char* key);
  static Histogram merged(const Replies& replies, const char* key);
  // Samples of the first few errors any worker saw.
  static boost::json::array error_samples(const Replies& replies);

 private:
  struct Child {
    pid_t pid = -1;
    int to = -1;    // its stdin
    int from = -1;  // its stdout
    std::string pending;
  };
  boost::json::object read_reply(Child& child);

  std::vector<Child> children_;
};

}  // namespace bench
