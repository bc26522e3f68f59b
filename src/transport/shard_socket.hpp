// The socket type of the long-lived connections a shard holds (WebSocket, SSE): bound to the
// shard's own io_context rather than to a type-erased executor, which makes each one 48 bytes
// smaller (40 against 88); an idle server holds one per connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <unistd.h>

namespace greendot::transport {

using ShardSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// Moves an accepted socket (nothing pending on it) onto `io` as a ShardSocket. Nothing can be
// converted between the two executor types, so the descriptor itself is handed over.
inline ShardSocket adopt_socket(boost::asio::io_context& io, boost::asio::ip::tcp::socket socket) {
  ShardSocket adopted(io.get_executor());
  boost::system::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return adopted;  // gone already: a closed socket, whose first use fails
  const auto handle = socket.release(ec);
  if (ec) return adopted;
  adopted.assign(protocol, handle, ec);
  if (ec) ::close(handle);
  return adopted;
}

}  // namespace greendot::transport
