// The first bytes of every TCP connection: an HTTP/1.1 request. A WebSocket upgrade to
// /app/{key} is handed to a Connection; anything else gets a JSON answer.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "transport/connection_slots.hpp"

namespace greendot::transport {

class Shard;

// Serves HTTP on `socket` (already owned by the shard's thread) until it closes or upgrades.
// The slot goes with the socket to whatever takes it over. A socket over a connection limit
// gets its first request answered with the refusal (503 or 429 JSON, or for a WebSocket
// upgrade a close with 4100 or 4004, which pusher-js understands) and is closed.
void serve_http(Shard& shard, boost::asio::ip::tcp::socket socket, ConnectionSlot slot);

}  // namespace greendot::transport
