// greendot-send-floor: what one small write to each of many loopback TCP connections costs
// this machine's kernel, with no server in the way. It is the floor under greendot's fan-out
// figures: a broadcast of one frame to N subscribers is N such writes, whatever the server.
//
//   greendot-send-floor [--connections 5000] [--senders 1] [--rounds 5] [--bytes 120] [--no-reader]
//
// The receiving ends are read by one thread with epoll (as a client process would), unless
// --no-reader. Each round every connection gets one write; the report is wall time and the
// senders' CPU time (user + system, which on loopback includes the receivers' TCP work) per
// write, as one JSON line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Options {
  int connections = 5000;
  int senders = 1;
  int rounds = 5;
  int bytes = 120;
  bool reader = true;
};

[[noreturn]] void fail(const char* what) {
  std::perror(what);
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (flag == "--connections") {
      options.connections = value();
    } else if (flag == "--senders") {
      options.senders = value();
    } else if (flag == "--rounds") {
      options.rounds = value();
    } else if (flag == "--bytes") {
      options.bytes = value();
    } else if (flag == "--no-reader") {
      options.reader = false;
    } else {
      std::fprintf(stderr,
                   "usage: greendot-send-floor [--connections N] [--senders N] [--rounds N] "
                   "[--bytes N] [--no-reader]\n");
      std::exit(2);
    }
  }
  if (options.connections < 1 || options.senders < 1 || options.rounds < 1 || options.bytes < 1) {
    std::fprintf(stderr, "every count must be at least 1\n");
    std::exit(2);
  }
  return options;
}

double thread_cpu_us() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e6 + double(now.tv_nsec) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);

  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail("listen");
  }
  std::vector<int> receivers;
  std::vector<int> senders;
  for (int i = 0; i < options.connections; ++i) {
    const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (client < 0) fail("socket (raise the open file limit)");
    if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
        errno != EINPROGRESS) {
      fail("connect");
    }
    const int accepted = ::accept(listener, nullptr, nullptr);
    if (accepted < 0) fail("accept");
    const int one = 1;
    ::setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    receivers.push_back(client);
    senders.push_back(accepted);
  }

  std::atomic<bool> stop{false};
  std::atomic<long> received{0};
  std::thread reader;
  if (options.reader) {
    const int poller = ::epoll_create1(0);
    for (int fd : receivers) {
      epoll_event event{};
      event.events = EPOLLIN | EPOLLET;
      event.data.fd = fd;
      ::epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
    }
    reader = std::thread([&, poller] {
      std::vector<epoll_event> events(1024);
      std::vector<char> buffer(64 * 1024);
      while (!stop.load()) {
        const int ready = ::epoll_wait(poller, events.data(), int(events.size()), 50);
        for (int i = 0; i < ready; ++i) {
          while (true) {
            const ssize_t n = ::recv(events[i].data.fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) break;
            received += n;
          }
        }
      }
      ::close(poller);
    });
  }

  const std::string frame(std::size_t(options.bytes), 'x');
  std::vector<double> wall_per_write;
  std::vector<double> cpu_per_write;
  for (int round = 0; round < options.rounds; ++round) {
    std::vector<double> cpu(std::size_t(options.senders), 0);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < options.senders; ++t) {
      threads.emplace_back([&, t] {
        const double before = thread_cpu_us();
        for (std::size_t i = std::size_t(t); i < senders.size();
             i += std::size_t(options.senders)) {
          if (::send(senders[i], frame.data(), frame.size(), MSG_NOSIGNAL) < 0) fail("send");
        }
        cpu[std::size_t(t)] = thread_cpu_us() - before;
      });
    }
    for (auto& thread : threads) thread.join();
    const double wall =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    double total_cpu = 0;
    for (double c : cpu) total_cpu += c;
    wall_per_write.push_back(wall / options.connections);
    cpu_per_write.push_back(total_cpu / options.connections);
    // Between rounds the reader catches up (or, without one, the data stays queued).
    ::usleep(200 * 1000);
  }
  stop = true;
  if (reader.joinable()) reader.join();

  auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  std::printf(
      "{\"tool\":\"send-floor\",\"connections\":%d,\"senders\":%d,\"rounds\":%d,\"bytes\":%d,"
      "\"reader\":%s,\"round_wall_ms_median\":%.2f,\"wall_us_per_write_median\":%.2f,"
      "\"sender_cpu_us_per_write_median\":%.2f,\"bytes_received\":%ld}\n",
      options.connections, options.senders, options.rounds, options.bytes,
      options.reader ? "true" : "false", median(wall_per_write) * options.connections / 1000,
      median(wall_per_write), median(cpu_per_write), received.load());
  for (int fd : senders) ::close(fd);
  for (int fd : receivers) ::close(fd);
  ::close(listener);
  return 0;
}
