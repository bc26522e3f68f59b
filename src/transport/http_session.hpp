// The first bytes of every TCP connection: an HTTP/1.1 request. A WebSocket upgrade to
// /app/{key} is handed to a Connection; anything else gets a JSON answer.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace greendot::transport {

class Shard;

// Serves HTTP on `socket` (already owned by the shard's thread) until it closes or upgrades.
void serve_http(Shard& shard, boost::asio::ip::tcp::socket socket);

}  // namespace greendot::transport
