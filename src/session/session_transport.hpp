// SessionTransport: what a Pusher session needs from the connection that carries it. The
// WebSocket connection implements it over a socket; the unit tests implement it in memory, so
// that every rule of the Pusher protocol is tested without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/presence_book.hpp"

namespace greendot::session {

class SessionTransport {
 public:
  // A message to the client; what the client has not read of these counts against the
  // server's max_outbound_bytes.
  virtual void send_text(std::string_view text) = 0;
  // An answer the client asked for (a member list): always queued, whatever its size.
  virtual void send_answer(std::string_view text) = 0;
  // Bytes of answers queued and not yet taken by the client.
  virtual std::size_t unread_answer_bytes() const = 0;
  // Sends pusher:error (for codes from 4000) and a WebSocket close, and ends the connection.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  // The client is not reading: it is let go as a slow consumer (4100).
  virtual void overflow() = 0;
  // A function that runs work on the session's own thread after the current handler, unless
  // the connection has closed by then. It may be called from any thread, and keeps the
  // connection (and so the session) alive until it has run: the engine's answers come back
  // through it.
  using Poster = std::function<void(std::function<void()>)>;
  virtual Poster poster() = 0;
  // Broadcasts on the channel start or stop reaching this connection.
  virtual void listen(core::AppIndex app, std::string_view channel) = 0;
  virtual void stop_listening(core::AppIndex app, std::string_view channel) = 0;
  // The connection is signed in as the user, or no longer (for terminate_user).
  virtual void signed_in_as(core::AppIndex app, const std::string& user) = 0;
  virtual void signed_out_as(core::AppIndex app, const std::string& user) = 0;

 protected:
  ~SessionTransport() = default;
};

}  // namespace greendot::session
