// A real redis-server (Debian's 7.0) for tests, started on a free loopback port and killed
// after the test; run_until() drives an io_context until a condition holds, with a bound.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"

extern char** environ;

namespace greendot::redis::testing {

using namespace std::chrono_literals;

inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

inline bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

// Runs `io` until `done()` holds, for at most `bound`.
template <class Done>
bool run_io_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds bound = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();  // it stops whenever it runs out of work
    io.run_one_for(100ms);
  }
  return done();
}

// Starts a program with `args` (args[0] looked up on the PATH), its output discarded (and its
// error output too when `quiet`).
inline pid_t spawn(std::vector<std::string> args, bool quiet = false) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (quiet) ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : 0;
}

// A self-signed certificate (its own authority) for TLS tests, made with `openssl req`;
// `names` is its subjectAltName, e.g. "DNS:localhost" or "IP:127.0.0.1".
inline void make_test_certificate(const std::string& cert, const std::string& key,
                                  const std::string& names) {
  const pid_t openssl =
      spawn({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "1", "-subj", "/CN=greendot test", "-addext",
             "subjectAltName=" + names, "-keyout", key, "-out", cert},
            /*quiet=*/true);
  ASSERT_NE(openssl, 0) << "openssl is needed for these tests";
  int status = 0;
  ::waitpid(openssl, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "openssl req failed";
}

struct RedisServer : ::testing::Test {
  boost::asio::io_context io;
  std::uint16_t port = free_port();
  pid_t pid = 0;

  // More configuration for the server, for fixtures that need it.
  virtual std::vector<std::string> extra_args() const { return {}; }

  void SetUp() override { start_server(); }

  // Starts redis-server on `port` and waits until it accepts connections.
  void start_server() {
    const std::string port_text = std::to_string(port);
    std::vector<std::string> args{"redis-server", "--port",    port_text,  "--bind",
                                  "127.0.0.1",    "--save",    "",         "--appendonly",
                                  "no",           "--logfile", "/dev/null"};
    for (auto& extra : extra_args()) args.push_back(std::move(extra));
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ), 0)
        << "redis-server is needed for these tests (scripts/install-deps.sh test installs it)";
    // Ready once it accepts connections: waited for, not slept on, with a bound.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!accepts_connections(port)) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "redis-server exited at start";
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "redis-server did not start";
      std::this_thread::yield();
    }
  }
  void TearDown() override { kill_server(); }

  void kill_server() {
    if (pid == 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = 0;
  }

  // Runs the loop until `done()` holds, for at most 10 s.
  template <class Done>
  bool run_until(Done done) {
    return run_io_until(io, done);
  }

  std::shared_ptr<RedisConnection> connected() {
    auto connection = RedisConnection::create(io);
    bool ok = false;
    connection->connect("127.0.0.1", port, [&](std::optional<ConnectionError> error) {
      EXPECT_FALSE(error) << error->message;
      ok = true;
    });
    EXPECT_TRUE(run_until([&] { return ok; }));
    return connection;
  }
};

}  // namespace greendot::redis::testing
