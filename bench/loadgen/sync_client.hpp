// A blocking Pusher client for the coordinator: the observer that times member_removed, the
// subject that closes, and the client-event trigger of the fan-out. One socket, no event loop.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/websocket_frame.hpp"

namespace bench {

class SyncClient {
 public:
  // Connects, upgrades and waits for pusher:connection_established; throws on failure.
  SyncClient(const std::string& host, int port, const std::string& app_key,
             const std::string& source = "127.0.0.1");
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  const std::string& socket_id() const { return socket_id_; }
  // Subscribes with a valid signature and waits for subscription_succeeded; throws on refusal.
  void subscribe(const std::string& key, const std::string& secret, const std::string& channel,
                 const std::string& user_id = {});
  void send_text(std::string_view text);
  // The next text message, or nothing when none arrives in time (pings are answered).
  std::optional<std::string> next_text(std::chrono::milliseconds timeout);
  // Waits for a message containing `needle`; nothing on timeout.
  std::optional<std::string> wait_for(std::string_view needle, std::chrono::milliseconds timeout);
  void close_handshake();  // close frame; does not wait
  // Close frame, then (as browsers do) wait for the server's close frame or EOF and close the
  // TCP connection; false when the server did not answer in time.
  bool close_like_a_browser(std::chrono::milliseconds timeout);
  void drop();  // TCP close without a close frame

 private:
  void write_all(std::string_view bytes);
  bool read_some(std::chrono::milliseconds timeout);

  int fd_ = -1;
  greendot::protocol::websocket::FrameParser parser_;
  std::deque<std::string> messages_;
  std::string socket_id_;
  bool closed_ = false;
};

}  // namespace bench
