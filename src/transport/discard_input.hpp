// Reading and dropping what a peer sends when nothing it says matters any more (a closing
// WebSocket, an SSE client), without a buffer of its own.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <span>

namespace greendot::transport {

// Reads whatever is ready on a non-blocking socket into `scratch` and drops it, a few reads
// at most so that one chatty peer cannot hold the thread. False when the peer has closed or
// the socket failed.
template <class Socket>
bool discard_ready_input(Socket& socket, std::span<char> scratch) {
  constexpr int kReadsPerWakeup = 4;
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    boost::system::error_code ec;
    socket.read_some(boost::asio::buffer(scratch.data(), scratch.size()), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return true;
    if (ec) return false;
  }
  return true;
}

}  // namespace greendot::transport
