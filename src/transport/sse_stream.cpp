#include "transport/sse_stream.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "core/channel_name.hpp"
#include "protocol/json_text.hpp"
#include "transport/discard_input.hpp"

namespace greendot::transport {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

// Pusher's names for the member events; the stream uses the part after it.
constexpr std::string_view kInternalPrefix = "pusher_internal:";
constexpr std::string_view kCrlf = "\r\n";
// The zero-size chunk that ends a chunked body.
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A stream holds a socket like a WebSocket connection, so it counts against max_connections.
bool take_connection_slot(server::AppRegistry& apps, core::AppIndex app) {
  const auto limit = apps.app(app).max_connections;
  auto& count = apps.connections(app);
  if (limit != 0 && count.fetch_add(1) >= limit) {
    count.fetch_sub(1);
    return false;
  }
  if (limit == 0) count.fetch_add(1);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Wire formats

std::string cors_lines(const std::string& origin) {
  if (origin.empty()) return {};
  return "Access-Control-Allow-Origin: " + origin + "\r\nVary: Origin\r\n";
}

// The body is chunked: with keep-alive and no length, that is how HTTP/1.1 delimits it.
std::string stream_head(const std::string& origin) {
  return "HTTP/1.1 200 OK\r\n"
         "Server: greendot\r\n"
         "Content-Type: text/event-stream\r\n"
         "Cache-Control: no-cache\r\n"
         "Connection: keep-alive\r\n"
         "Transfer-Encoding: chunked\r\n"
         // nginx buffers proxied responses unless told not to; events must not wait.
         "X-Accel-Buffering: no\r\n" +
         cors_lines(origin) + "\r\n";
}

std::string status_line(int status) {
  switch (status) {
    case 409:
      return "HTTP/1.1 409 Conflict\r\n";
    case 503:
      return "HTTP/1.1 503 Service Unavailable\r\n";
    default:
      return "HTTP/1.1 " + std::to_string(status) + " Error\r\n";
  }
}

// A complete JSON error response, for refusals after the socket was taken over.
std::string error_response(int status, std::string_view message, const std::string& origin) {
  const std::string body = api::rest_error(status, message).body;
  return status_line(status) +
         "Server: greendot\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n" + cors_lines(origin) + "\r\n" +
         body;
}

// `data:` lines: SSE ends a field at CR, LF or CRLF, so text with line breaks takes several.
void append_data_lines(std::string& out, std::string_view text) {
  for (;;) {
    const auto end = text.find_first_of("\r\n");
    out.append("data: ").append(text.substr(0, end)).push_back('\n');
    if (end == std::string_view::npos) return;
    const bool crlf = text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n';
    text.remove_prefix(end + (crlf ? 2 : 1));
  }
}

engine::SharedFrame sse_event(std::string_view name, std::string_view data) {
  std::string out;
  out.reserve(name.size() + data.size() + 16);
  out.append("event: ").append(name).push_back('\n');
  append_data_lines(out, data);
  out.push_back('\n');
  return std::make_shared<const std::string>(std::move(out));
}

// The payload of a frame of the fan-out: one unmasked FIN text frame whose header is 2, 4 or
// 10 bytes. Empty for anything else.
std::string_view text_frame_payload(std::string_view frame) {
  constexpr unsigned kTextOpcode = 0x1;
  if (frame.size() < 2 || (static_cast<unsigned char>(frame[0]) & 0x0F) != kTextOpcode) return {};
  const unsigned length_code = static_cast<unsigned char>(frame[1]) & 0x7F;
  const std::size_t header = length_code < 126 ? 2 : length_code == 126 ? 4 : 10;
  return frame.size() < header ? std::string_view{} : frame.substr(header);
}

// A Pusher channel message as an SSE event: pusher_internal:member_added becomes member_added,
// other events keep their name; `data` is the event's data (JSON text for member events).
// Nothing for what is not a channel event.
engine::SharedFrame convert(std::string_view frame) {
  boost::system::error_code ec;
  json::value message = json::parse(text_frame_payload(frame), ec);
  if (ec || !message.is_object()) return nullptr;
  const json::value* event = message.get_object().if_contains("event");
  if (!event || !event->is_string()) return nullptr;
  std::string_view name = event->get_string();
  if (name.starts_with(kInternalPrefix)) name.remove_prefix(kInternalPrefix.size());
  // A line break would end the field and let the name inject fields of its own.
  if (name.empty() || name.find_first_of("\r\n") != std::string_view::npos) return nullptr;
  const json::value* data = message.get_object().if_contains("data");
  if (!data) return sse_event(name, "null");
  if (data->is_string()) return sse_event(name, data->get_string());
  return sse_event(name, json::serialize(*data));
}

// The fan-out hands one frame to every local subscriber of the channel in a row, so one
// conversion per thread serves every stream of that thread. Holding the frame keeps its
// address from being reused by a later one.
engine::SharedFrame sse_event_for(const engine::SharedFrame& frame) {
  thread_local engine::SharedFrame last_frame;
  thread_local engine::SharedFrame last_event;
  if (frame != last_frame) {
    last_frame = frame;
    last_event = convert(*frame);
  }
  return last_event;
}

// {"presence":{"ids":[...],"hash":{id:info},"count":n}} → {"members":[{"user_id","user_info"}]}
engine::SharedFrame snapshot_event(std::string_view presence_data) {
  json::array members;
  boost::system::error_code ec;
  json::value parsed = json::parse(presence_data, ec);
  const json::value* presence =
      ec || !parsed.is_object() ? nullptr : parsed.get_object().if_contains("presence");
  const json::value* ids =
      presence && presence->is_object() ? presence->get_object().if_contains("ids") : nullptr;
  const json::value* hash =
      presence && presence->is_object() ? presence->get_object().if_contains("hash") : nullptr;
  if (ids && ids->is_array()) {
    for (const auto& id : ids->get_array()) {
      const json::value* info = hash && hash->is_object() && id.is_string()
                                    ? hash->get_object().if_contains(id.get_string())
                                    : nullptr;
      members.push_back(json::object{{"user_id", id}, {"user_info", info ? *info : nullptr}});
    }
  }
  return sse_event("snapshot", json::serialize(json::object{{"members", std::move(members)}}));
}

const engine::SharedFrame& keep_alive_comment() {
  static const engine::SharedFrame comment =
      std::make_shared<const std::string>(": keep-alive\n\n");
  return comment;
}

std::string chunk_size_line(std::size_t size) {
  char digits[16];
  auto end = std::to_chars(std::begin(digits), std::end(digits), size, 16).ptr;
  return std::string(digits, end) + "\r\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Route

std::optional<api::RestResponse> open_sse_stream(Shard& shard, tcp::socket& socket,
                                                 ConnectionSlot& slot, const api::ApiCall& call) {
  auto& context = shard.context();
  auto refusal = [&](api::RestResponse response) {
    for (auto& header : api::answer_headers(call)) response.headers.push_back(std::move(header));
    return response;
  };
  auto member = api::stream_member(call);
  if (auto* problem = std::get_if<api::RestResponse>(&member)) return refusal(std::move(*problem));
  if (context.stopping) return refusal(api::rest_error(503, "Server is shutting down; reconnect"));
  if (!take_connection_slot(context.apps, call.app)) {
    return refusal(api::rest_error(429, "Application is over connection quota"));
  }
  auto stream =
      std::make_shared<SseStream>(shard, adopt_socket(shard.io(), std::move(socket)),
                                  std::move(slot), std::move(std::get<SseStream::Member>(member)));
  stream->start();
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Stream

SseStream::SseStream(Shard& shard, ShardSocket socket, ConnectionSlot slot, Member member)
    : shard_(shard),
      socket_(std::move(socket)),
      slot_(std::move(slot)),
      member_(std::move(member)),
      socket_id_(protocol::SocketId::random()) {
  shard_.attach(*this);
}

SseStream::~SseStream() {
  if (is_linked()) shard_.detach(*this);
}

const config::AppConfig& SseStream::app() const {
  return shard_.context().apps.app(member_.app);
}

bool SseStream::is_member_as(std::string_view channel, std::string_view user_id) const {
  return channel == member_.channel && user_id == member_.user_id;
}

bool SseStream::joined_after(std::string_view channel, std::uint64_t number) const {
  return channel == member_.channel && join_number_ > number;
}

void SseStream::start() {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  socket_.set_option(tcp::no_delay(true), ignored);
  session_ = shard_.context().next_session.fetch_add(1);
  in_channel_ = true;
  // The stream's own socket id keeps its user's member_added (if this is their first
  // session) off this stream: the snapshot already has them.
  engine::JoinRequest join{
      member_.app, member_.channel, member_.user_id,           member_.user_info,
      session_,    socket_id_,      app().max_presence_members};
  shard_.context().engine.join(
      std::move(join), [self = shared_from_this()](engine::JoinOutcome outcome) {
        asio::post(self->shard_.io(), [self, outcome = std::move(outcome)]() mutable {
          self->on_joined(std::move(outcome));
        });
      });
  // Watched from the start, so that a client gone before the engine answers is noticed.
  wait_readable();
}

void SseStream::on_joined(engine::JoinOutcome outcome) {
  if (closing_) return;  // finish() leaves the channel, pending join included
  if (!outcome.accepted()) {
    in_channel_ = false;  // a refused join holds no session
    if (outcome.status == engine::JoinStatus::Unavailable) {
      return refuse(503, "Presence is unavailable right now; connect again shortly");
    }
    return refuse(409, "The channel has reached its limit of " +
                           std::to_string(app().max_presence_members) + " members");
  }
  join_number_ = outcome.join_number;
  raw_ = stream_head(member_.origin);
  streaming_ = true;
  // The snapshot goes first and the fan-out is joined only now: like a WebSocket joiner, the
  // stream never sees a member event older than its snapshot.
  // The member list is the answer the client asked for, not a backlog: it is queued whatever
  // its size, and only what follows it counts against max_outbound_bytes.
  snapshot_ = snapshot_event(outcome.presence_data);
  queue_.push_back(snapshot_);
  start_write();
  shard_.fanout().add(member_.app, member_.channel, this);
  in_fanout_ = true;
}

void SseStream::refuse(int status, std::string_view message) {
  closing_ = true;
  raw_ = error_response(status, message, member_.origin);
  start_write();
}

void SseStream::send_frame(const engine::SharedFrame& frame) {
  if (!streaming_ || closing_ || overflowed_) return;
  if (auto event = sse_event_for(frame)) {
    server::count(shard_.traffic().messages_out);
    enqueue(std::move(event));
  }
}

void SseStream::keep_alive() {
  if (!streaming_ || closing_ || overflowed_) return;
  enqueue(keep_alive_comment());
}

void SseStream::enqueue(engine::SharedFrame event) {
  if (queued_bytes_ + event->size() > shard_.context().settings.max_outbound_bytes) {
    // A reader that cannot keep up is let go rather than allowed to grow our memory. The end
    // is posted because this may run inside the fan-out loop over the list finish() changes.
    overflowed_ = true;
    queue_.clear();
    asio::post(shard_.io(), [self = shared_from_this()] { self->finish(); });
    return;
  }
  queued_bytes_ += event->size();
  queue_.push_back(std::move(event));
  start_write();
}

void SseStream::close() {
  if (closing_ || finished_) return;
  if (!streaming_) return refuse(503, "Server is shutting down; reconnect");
  closing_ = true;  // start_write ends the body with the last chunk
  start_write();
}

// Writes, in one gathered write: the raw bytes (response head), everything queued as one
// chunk, and the last chunk once closing.
void SseStream::start_write() {
  if (writing_now_ || finished_ || overflowed_) return;
  std::vector<asio::const_buffer> buffers;
  raw_writing_ = std::move(raw_);
  raw_.clear();
  if (!raw_writing_.empty()) buffers.emplace_back(asio::buffer(raw_writing_));
  writing_.swap(queue_);
  if (!writing_.empty()) {
    std::size_t size = 0;
    for (const auto& event : writing_) size += event->size();
    chunk_head_ = chunk_size_line(size);
    buffers.emplace_back(asio::buffer(chunk_head_));
    for (const auto& event : writing_) buffers.emplace_back(event->data(), event->size());
    buffers.emplace_back(kCrlf.data(), kCrlf.size());
  }
  if (closing_ && streaming_) {
    buffers.emplace_back(kLastChunk.data(), kLastChunk.size());
    streaming_ = false;  // the body has ended
  }
  if (buffers.empty()) {
    if (closing_) finish();  // all written
    return;
  }
  writing_now_ = true;
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_now_ = false;
                      for (const auto& event : self->writing_) {
                        if (event == self->snapshot_) {
                          self->snapshot_.reset();
                        } else {
                          self->queued_bytes_ -= event->size();
                        }
                      }
                      self->writing_.clear();
                      if (ec) return self->finish();
                      self->start_write();
                    });
}

void SseStream::wait_readable() {
  if (finished_) return;
  socket_.async_wait(ShardSocket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec) return self->finish();
                       self->on_readable();
                     });
}

// The client has nothing to say after its request; what it sends anyway is dropped. End of
// input (EventSource.close(), a closed tab) ends the stream.
void SseStream::on_readable() {
  if (!discard_ready_input(socket_, shard_.read_buffer())) return finish();
  wait_readable();
}

void SseStream::finish() {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  if (in_fanout_) shard_.fanout().remove(member_.app, member_.channel, this);
  in_fanout_ = false;
  auto& context = shard_.context();
  if (in_channel_) {
    context.engine.leave(member_.app, member_.channel, member_.user_id, session_,
                         app().offline_grace_ms);
    in_channel_ = false;
  }
  context.apps.connections(member_.app).fetch_sub(1);
  boost::system::error_code ignored;
  socket_.shutdown(ShardSocket::shutdown_both, ignored);
  socket_.close(ignored);
  slot_.release();
  queue_.clear();
  shard_.detach(*this);
  spdlog::debug("sse stream of user {} in {} ended", member_.user_id, member_.channel);
}

}  // namespace greendot::transport
