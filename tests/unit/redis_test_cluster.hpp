// A real Redis Cluster for tests: three primaries (Debian's redis-server 7.0) on free loopback
// ports, made with `redis-cli --cluster create`, waited for until every node says
// cluster_state:ok, and killed after the test. Nodes can be killed, restarted (the same port
// and nodes.conf: the same node, with its slots), stopped and resumed; slots can be migrated
// step by step as redis-cli --cluster reshard does it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis/cluster_slot.hpp"
#include "redis/connection.hpp"
#include "redis/tls_context.hpp"
#include "redis_test_server.hpp"

namespace greendot::redis::testing {

struct RedisCluster : ::testing::Test {
  static constexpr int kNodes = 3;
  struct Node {
    std::uint16_t port = 0;
    std::uint16_t bus_port = 0;
    pid_t pid = 0;
    std::string id;
    std::shared_ptr<RedisConnection> connection;  // the test's own, for call()
  };

  boost::asio::io_context io;
  std::vector<Node> nodes = std::vector<Node>(kNodes);  // the primaries, then any replicas
  std::vector<std::uint16_t> taken_ports;
  std::string dir;

  // More configuration for every node, for fixtures that need it.
  virtual std::vector<std::string> node_args() const { return {}; }
  // TLS only, clients and cluster bus alike, with a certificate the fixture makes for
  // 127.0.0.1 (tls_context() trusts it).
  virtual bool tls() const { return false; }
  std::string cert() const { return dir + "/cert.pem"; }
  std::string key() const { return dir + "/key.pem"; }
  std::shared_ptr<TlsContext> tls_context() const {
    TlsOptions options;
    options.ca_file = cert();
    return std::get<std::shared_ptr<TlsContext>>(make_tls_context(options));
  }

  void SetUp() override {
    char path[] = "/tmp/greendot-cluster-XXXXXX";
    ASSERT_NE(::mkdtemp(path), nullptr);
    dir = path;
    for (auto& node : nodes) give_ports(node);
    if (tls()) {
      ASSERT_NO_FATAL_FAILURE(make_test_certificate(cert(), key(), "IP:127.0.0.1"));
    }
    for (int i = 0; i < kNodes; ++i) ASSERT_NO_FATAL_FAILURE(start_node(i));
    std::vector<std::string> create{"redis-cli", "--cluster", "create"};
    for (auto& node : nodes) create.push_back("127.0.0.1:" + std::to_string(node.port));
    create.insert(create.end(), {"--cluster-replicas", "0", "--cluster-yes"});
    if (tls()) create.insert(create.end(), {"--tls", "--cacert", cert()});
    const pid_t cli = spawn(create);
    ASSERT_NE(cli, 0) << "redis-cli is needed for these tests";
    int status = 0;
    ASSERT_TRUE(poll_until([&] { return ::waitpid(cli, &status, WNOHANG) == cli; }, 60s));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "redis-cli --cluster create";
    for (auto& node : nodes) {
      node.id = call(index_of(node), {"CLUSTER", "MYID"}).text;
      ASSERT_FALSE(node.id.empty());
    }
    ASSERT_NO_FATAL_FAILURE(wait_until_ok());
  }

  void TearDown() override {
    for (std::size_t i = 0; i < nodes.size(); ++i) kill_node(static_cast<int>(i));
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::uint16_t distinct_port() {
    std::uint16_t port = 0;
    do port = free_port();
    while (std::find(taken_ports.begin(), taken_ports.end(), port) != taken_ports.end());
    taken_ports.push_back(port);
    return port;
  }
  void give_ports(Node& node) {
    node.port = distinct_port();
    node.bus_port = distinct_port();  // set, not port + 10000, which may be past 65535
  }

  int index_of(const Node& node) const { return static_cast<int>(&node - nodes.data()); }

  template <class Done>
  static bool poll_until(Done done, std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);  // polling another process, not waiting for time
    }
    return true;
  }

  template <class Done>
  bool run_until(Done done) {
    return run_io_until(io, done);
  }

  void start_node(int i) {
    auto& node = nodes[i];
    const std::string port = std::to_string(node.port);
    std::vector<std::string> args{"redis-server",
                                  "--port",
                                  port,
                                  "--bind",
                                  "127.0.0.1",
                                  "--cluster-enabled",
                                  "yes",
                                  "--cluster-port",
                                  std::to_string(node.bus_port),
                                  "--cluster-config-file",
                                  dir + "/nodes-" + port + ".conf",
                                  "--dir",
                                  dir,
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--logfile",
                                  "/dev/null"};
    if (tls()) {
      args[1] = "--tls-port";
      args.insert(args.end(), {"--port", "0", "--tls-cluster", "yes", "--tls-cert-file", cert(),
                               "--tls-key-file", key(), "--tls-ca-cert-file", cert(),
                               "--tls-auth-clients", "no"});
    }
    for (auto& arg : node_args()) args.push_back(std::move(arg));
    node.pid = spawn(std::move(args));
    ASSERT_NE(node.pid, 0) << "redis-server is needed for these tests";
    const bool accepting = poll_until(
        [&] {
          int status = 0;
          return accepts_connections(node.port) || ::waitpid(node.pid, &status, WNOHANG) != 0;
        },
        10s);
    ASSERT_TRUE(accepting && accepts_connections(node.port)) << "redis-server did not start";
  }

  void kill_node(int i) {
    auto& node = nodes[i];
    if (node.pid == 0) return;
    ::kill(node.pid, SIGKILL);
    ::waitpid(node.pid, nullptr, 0);
    node.pid = 0;
    node.connection.reset();
  }
  void restart_node(int i) {
    kill_node(i);
    start_node(i);
  }
  // A node that keeps its connections but answers nothing (SIGSTOP), and its return.
  void pause_node(int i) { ::kill(nodes[i].pid, SIGSTOP); }
  void resume_node(int i) { ::kill(nodes[i].pid, SIGCONT); }

  // One command on node i, through the test's own connection to it; a null reply on failure.
  Reply call(int i, std::vector<std::string> args) {
    auto& node = nodes[i];
    if (!node.connection || !node.connection->open()) {
      node.connection = RedisConnection::create(io);
      bool connected = false;
      auto done = [&](std::optional<ConnectionError>) { connected = true; };
      if (tls()) {
        node.connection->connect(std::get<RedisEndpoint>(parse_redis_url(url(i))), done,
                                 tls_context());
      } else {
        node.connection->connect("127.0.0.1", node.port, done);
      }
      if (!run_until([&] { return connected; })) return {};
    }
    const std::vector<std::string_view> views(args.begin(), args.end());
    std::optional<Reply> reply;
    node.connection->command(views, [&](Result result) {
      reply = std::holds_alternative<Reply>(result) ? std::get<Reply>(result) : Reply{};
    });
    if (!run_until([&] { return reply.has_value(); })) return {};
    return *reply;
  }

  void wait_until_ok() {
    for (int i = 0; i < kNodes; ++i) {
      const bool ok = run_until([&] {
        return call(i, {"CLUSTER", "INFO"}).text.find("cluster_state:ok") != std::string::npos;
      });
      ASSERT_TRUE(ok) << "node " << i << " never reached cluster_state:ok";
    }
  }

  // Which node owns `slot`, as node `asked` sees it (CLUSTER NODES: "... connected 0-5460").
  int owner_of(std::uint16_t slot, int asked = 0) {
    std::istringstream lines(call(asked, {"CLUSTER", "NODES"}).text);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string field; fields >> field;) f.push_back(field);
      if (f.size() < 9) continue;
      for (std::size_t k = 8; k < f.size(); ++k) {
        if (f[k].starts_with("[")) continue;  // a slot being migrated, not owned
        const auto dash = f[k].find('-');
        const int first = std::stoi(f[k].substr(0, dash));
        const int last = dash == std::string::npos ? first : std::stoi(f[k].substr(dash + 1));
        if (slot < first || slot > last) continue;
        for (const auto& node : nodes) {
          if (node.id == f[0]) return index_of(node);
        }
      }
    }
    return -1;
  }

  // A key whose slot node i owns, made from `prefix`.
  std::string key_on(int i, const std::string& prefix) {
    for (int n = 0;; ++n) {
      std::string key = std::string(prefix).append(std::to_string(n));
      if (owner_of(key_slot(key)) == i) return key;
    }
  }

  // A replica of primary `of`, known to every primary (so that it can be elected when `of`
  // fails); its index in `nodes`.
  int add_replica(int of) {
    nodes.emplace_back();
    const int i = static_cast<int>(nodes.size()) - 1;
    give_ports(nodes[i]);
    start_node(i);
    nodes[i].id = call(i, {"CLUSTER", "MYID"}).text;
    call(i, {"CLUSTER", "MEET", "127.0.0.1", std::to_string(nodes[0].port),
             std::to_string(nodes[0].bus_port)});
    // REPLICATE needs the primary known, which gossip brings after the MEET.
    EXPECT_TRUE(run_until([&] {
      return call(i, {"CLUSTER", "REPLICATE", nodes[of].id}).text == "OK";
    }));
    EXPECT_TRUE(run_until([&] {
      return call(i, {"INFO", "replication"}).text.find("master_link_status:up") !=
             std::string::npos;
    }));
    for (int primary = 0; primary < kNodes; ++primary) {
      EXPECT_TRUE(run_until([&] {
        const std::string known = call(primary, {"CLUSTER", "NODES"}).text;
        const auto line = known.find(nodes[i].id);
        return line != std::string::npos &&
               known.find("slave " + nodes[of].id, line) != std::string::npos;
      })) << "primary "
          << primary << " does not know the replica";
    }
    return i;
  }

  std::string address(int i) const { return "127.0.0.1:" + std::to_string(nodes[i].port); }
  std::string url(int i) const { return (tls() ? "rediss://" : "redis://") + address(i); }

  // A slot migration in the steps redis-cli --cluster reshard takes.
  void begin_migration(std::uint16_t slot, int from, int to) {
    const std::string s = std::to_string(slot);
    ASSERT_EQ(call(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", nodes[from].id}).text, "OK");
    ASSERT_EQ(call(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", nodes[to].id}).text, "OK");
  }
  void migrate_key(const std::string& key, int from, int to) {
    const Reply moved =
        call(from, {"MIGRATE", "127.0.0.1", std::to_string(nodes[to].port), key, "0", "5000"});
    ASSERT_TRUE(moved.text == "OK" || moved.text == "NOKEY") << moved.text;
  }
  void end_migration(std::uint16_t slot, int to) {
    const std::string s = std::to_string(slot);
    for (int i = 0; i < kNodes; ++i) {
      ASSERT_EQ(call(i, {"CLUSTER", "SETSLOT", s, "NODE", nodes[to].id}).text, "OK");
    }
  }
  void migrate_slot(std::uint16_t slot, int from, int to) {
    ASSERT_NO_FATAL_FAILURE(begin_migration(slot, from, to));
    const std::string s = std::to_string(slot);
    for (;;) {
      const Reply keys = call(from, {"CLUSTER", "GETKEYSINSLOT", s, "100"});
      if (keys.elements.empty()) break;
      for (const auto& key : keys.elements)
        ASSERT_NO_FATAL_FAILURE(migrate_key(key.text, from, to));
    }
    ASSERT_NO_FATAL_FAILURE(end_migration(slot, to));
  }
};

}  // namespace greendot::redis::testing
