// SseStream: a page's Server-Sent Events view of one presence context,
//   GET /apps/{app_id}/client/stream?context=X&token=JWT   (or Authorization: Bearer JWT)
// authenticated by a user token whose contexts claim opens X. While it is open it is a session of
// the token's user in presence-{context}, like one more tab: it joins the channel through the
// engine, receives the channel's broadcasts from the shard's LocalFanout and re-encodes them as SSE
// events
// (`snapshot` first, then `member_added`, `member_removed` and any other channel event).
//
// Independent of Beast: the route hands over the socket after the request has been read, and
// the stream writes its own response head (chunked, so that the stream is valid HTTP/1.1 with
// keep-alive and its end is explicit).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/client_api.hpp"
#include "api/routes.hpp"
#include "engine/presence_engine.hpp"
#include "transport/connection_slots.hpp"
#include "transport/local_fanout.hpp"
#include "transport/shard.hpp"
#include "transport/shard_socket.hpp"

namespace greendot::transport {

// Opens the stream of a checked request (api/routes resolved it; api/client_api knows who it
// is). When it is acceptable, takes over the socket (the stream then answers it: 200 and
// events, or 409 when the channel is full) and returns nothing. Otherwise the socket is
// untouched and the refusal to send is returned, with the route's CORS headers.
// The stream takes `slot` (the socket's place under the server's connection limits) with it.
std::optional<api::RestResponse> open_sse_stream(Shard& shard, boost::asio::ip::tcp::socket& socket,
                                                 ConnectionSlot& slot, const api::ApiCall& call);

class SseStream final : public std::enable_shared_from_this<SseStream>,
                        public FrameSink,
                        public StreamListHook {
 public:
  using Member = api::StreamMember;

  // Holds one of the app's connection slots (taken by open_sse_stream) until finished.
  SseStream(Shard& shard, ShardSocket socket, ConnectionSlot slot, Member member);
  ~SseStream();

  // Joins the channel and starts watching the socket for the client going away.
  void start();

  void send_frame(const engine::SharedFrame& frame) override;
  protocol::SocketId socket_id() const override { return socket_id_; }
  bool is_member_as(std::string_view channel, std::string_view user_id) const override;
  bool joined_after(std::string_view channel, std::uint64_t number) const override;

  // A comment line, so that proxies do not close an idle stream (the shard calls it).
  void keep_alive();
  // Ends the stream cleanly (last chunk, then close), e.g. at shutdown.
  void close();

 private:
  void on_joined(engine::JoinOutcome outcome);
  void refuse(int status, std::string_view message);
  void enqueue(engine::SharedFrame event);
  void start_write();
  void wait_readable();
  void on_readable();
  void finish();
  const config::AppConfig& app() const;

  Shard& shard_;
  ShardSocket socket_;
  ConnectionSlot slot_;
  Member member_;
  protocol::SocketId socket_id_;
  core::SessionId session_ = 0;
  std::string raw_;                           // unframed bytes to write next: head, last chunk
  std::string raw_writing_;                   // ... being written now
  std::string chunk_head_;                    // the size line of the chunk being written
  std::vector<engine::SharedFrame> queue_;    // SSE events waiting to be written
  std::vector<engine::SharedFrame> writing_;  // being written now (one chunk)
  std::size_t queued_bytes_ = 0;              // in both, but for the snapshot
  engine::SharedFrame snapshot_;              // the member list, until written
  std::uint64_t join_number_ = 0;             // the engine's number for our join, once answered
  bool in_channel_ = false;  // the engine holds our session (from join until leave/refusal)
  bool in_fanout_ = false;   // from the snapshot on
  bool streaming_ = false;   // the 200 head is queued and the body has not ended
  bool closing_ = false;     // nothing more is queued; the socket closes once writes drain
  bool overflowed_ = false;  // dropped as a slow consumer
  bool finished_ = false;    // torn down
  bool writing_now_ = false;
};

}  // namespace greendot::transport
