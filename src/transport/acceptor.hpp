// Acceptor: the listening socket. It hands each new socket to the caller and keeps accepting
// when the process runs out of file descriptors: instead of retrying a failing accept at once
// (a full core, a log line each time, and clients left hanging), it answers the waiting
// clients with a 503 through a descriptor kept in reserve, pauses (100 ms, doubling to 1 s),
// logs once per second with a count, and resumes when descriptors free up.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace greendot::transport {

class Acceptor {
 public:
  using PickContext = std::function<boost::asio::io_context&()>;
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket)>;

  // Accepts on `io`; each socket is created on the context `pick` returns for it.
  Acceptor(boost::asio::io_context& io, PickContext pick, OnAccept on_accept);
  ~Acceptor();

  void bind(const boost::asio::ip::tcp::endpoint& endpoint, boost::system::error_code& ec);
  std::uint16_t port() const;
  void start();
  void close();

 private:
  void accept_next();
  void out_of_descriptors(const boost::system::error_code& ec);
  void refuse_waiting_clients();
  void reserve_descriptor();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_;
  PickContext pick_;
  OnAccept on_accept_;
  int spare_ = -1;  // a descriptor given up to answer clients when there is no other
  bool closed_ = false;
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point last_report_{};
  std::uint64_t failures_unreported_ = 0;
  std::uint64_t refused_unreported_ = 0;
  bool failing_ = false;  // since the last successful accept
};

// Writes a complete JSON error response to a socket that nothing else will read or write, as
// far as its buffer takes it without waiting, and closes it.
void refuse_and_close(int fd, int status, std::string_view reason, std::string_view message);

}  // namespace greendot::transport
