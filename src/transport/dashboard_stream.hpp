// DashboardStream: the operators' live view, GET /dashboard/api/stream (the route table has
// checked their credentials). Server-Sent Events over a chunked response: a `stats` event
// (api/dashboard_api) at once and then every second, until the page goes away or the server
// stops. One write at a time: a page that stops reading is sent nothing more, not a backlog.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

#include "api/routes.hpp"
#include "transport/connection_slots.hpp"
#include "transport/shard.hpp"

namespace greendot::transport {

// Takes over the socket of a checked request (it keeps `slot` until it ends). Nothing to
// answer then; a refusal otherwise (the server is stopping).
std::optional<api::RestResponse> open_dashboard_stream(Shard& shard,
                                                       boost::asio::ip::tcp::socket& socket,
                                                       ConnectionSlot& slot);

class DashboardStream final : public std::enable_shared_from_this<DashboardStream> {
 public:
  DashboardStream(Shard& shard, boost::asio::ip::tcp::socket socket, ConnectionSlot slot);

  void start();

 private:
  void send_stats();
  void write(std::string bytes);
  void wait_readable();
  void finish();

  Shard& shard_;
  boost::asio::ip::tcp::socket socket_;
  ConnectionSlot slot_;
  boost::asio::steady_timer timer_;
  std::string writing_;
  bool finished_ = false;
};

}  // namespace greendot::transport
