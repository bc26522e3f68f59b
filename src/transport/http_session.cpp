#include "transport/http_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include "api/routes.hpp"
#include "protocol/http_framing.hpp"
#include "protocol/json_text.hpp"
#include "protocol/websocket_handshake.hpp"
#include "transport/connection.hpp"
#include "transport/dashboard_stream.hpp"
#include "transport/shard.hpp"
#include "transport/sse_stream.hpp"

namespace greendot::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::string_view kAppPathPrefix = "/app/";
// Pipelined answers are written at the latest once this much is waiting.
constexpr std::size_t kMaxPendingAnswerBytes = 64 * 1024;

Response json_response(const Request& request, http::status status, std::string body) {
  Response response{status, request.version()};
  response.set(http::field::server, "greendot");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response error_response(const Request& request, http::status status, std::string_view message) {
  std::string body = "{\"error\":";
  protocol::append_json_string(body, message);
  body.push_back('}');
  return json_response(request, status, std::move(body));
}

bool header_has_token(std::string_view value, std::string_view token) {
  // Comma-separated, case-insensitive, e.g. "keep-alive, Upgrade".
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(),
                   [&](char a, char b) { return lower(a) == lower(b); })) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Errors that mean the client sent something that is not HTTP/1.1 (as opposed to going away).
bool is_malformed_request(const boost::system::error_code& ec) {
  const auto& http_errors = make_error_code(http::error::bad_target).category();
  return ec && ec.category() == http_errors && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

// Every Transfer-Encoding line of the request, as one list.
std::string transfer_encoding_of(const Request& request) {
  std::string joined;
  auto [first, last] = request.equal_range(http::field::transfer_encoding);
  for (auto it = first; it != last; ++it) {
    if (!joined.empty()) joined.push_back(',');
    joined.append(it->value());
  }
  return joined;
}

bool is_websocket_upgrade(const Request& request) {
  return header_has_token(request[http::field::connection], "upgrade") &&
         header_has_token(request[http::field::upgrade], "websocket");
}

// Appends the response's bytes, as Beast would write them, to `out`; only its head when it
// answers a HEAD request, whose Content-Length still says what a GET would get. Written here
// for the usual answer (a body of known length): Beast's serializer costs as much as the rest
// of a heartbeat's answer.
void append_serialized(std::string& out, Response& response, bool head_only = false) {
  if (!response.chunked()) {
    out.append(response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    out.append(std::to_string(response.result_int())).push_back(' ');
    const auto reason = response.reason();
    out.append(reason.empty() ? http::obsolete_reason(response.result()) : reason);
    out.append("\r\n");
    for (const auto& field : response) {
      out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    }
    out.append("\r\n");
    if (!head_only) out.append(response.body());
    return;
  }
  http::serializer<false, http::string_body> serializer(response);
  serializer.split(head_only);
  boost::system::error_code ec;
  do {
    serializer.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      for (auto piece : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(piece.data()), piece.size());
      }
      serializer.consume(beast::buffer_bytes(buffers));
    });
  } while (!ec && !(head_only ? serializer.is_header_done() : serializer.is_done()));
}

// Writes `bytes` within `timeout`; false when the client did not take them in time or went.
// What the socket takes at once (an answer usually fits in its buffer) is written without a
// wait: an asynchronous write arms the stream's timer, and that costs an unpipelined request
// as much as a fifth of its answer.
asio::awaitable<bool> write_within(beast::tcp_stream& stream, const std::string& bytes,
                                   std::chrono::milliseconds timeout) {
  std::size_t written = 0;
  const ssize_t sent = ::send(stream.socket().native_handle(), bytes.data(), bytes.size(),
                              MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent > 0) written = static_cast<std::size_t>(sent);
  if (written == bytes.size()) co_return true;
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return false;
  boost::system::error_code ec;
  stream.expires_after(timeout);
  co_await asio::async_write(stream, asio::buffer(bytes.data() + written, bytes.size() - written),
                             asio::redirect_error(asio::use_awaitable, ec));
  stream.expires_never();
  co_return !ec;
}

asio::awaitable<void> refuse_upgrade(beast::tcp_stream& stream, const Request& request,
                                     Response response, std::chrono::milliseconds timeout) {
  response.keep_alive(false);
  std::string bytes;
  append_serialized(bytes, response, request.method() == http::verb::head);
  co_await write_within(stream, bytes, timeout);
}

// Answers an upgrade request; true when the socket now belongs to a Connection.
asio::awaitable<bool> upgrade(Shard& shard, beast::tcp_stream& stream, beast::flat_buffer& buffer,
                              const Request& request, const boost::urls::url_view& url,
                              std::chrono::milliseconds timeout, ConnectionSlot& slot) {
  const std::string path = url.path();  // decoded, so a copy
  std::string_view key = std::string_view(path).substr(kAppPathPrefix.size());
  if (!path.starts_with(kAppPathPrefix) || key.empty() || key.find('/') != std::string_view::npos) {
    co_await refuse_upgrade(
        stream, request,
        error_response(request, http::status::not_found, "WebSocket connections go to /app/{key}"),
        timeout);
    co_return false;
  }
  const auto client_key = request[http::field::sec_websocket_key];
  if (request.method() != http::verb::get || request[http::field::sec_websocket_version] != "13" ||
      !protocol::websocket::valid_client_key(client_key)) {
    auto response = error_response(request, http::status::bad_request,
                                   "A WebSocket upgrade needs GET, Sec-WebSocket-Version: 13 and "
                                   "a valid Sec-WebSocket-Key");
    response.set(http::field::sec_websocket_version, "13");
    co_await refuse_upgrade(stream, request, std::move(response), timeout);
    co_return false;
  }

  std::string handshake =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      protocol::websocket::accept_key(client_key) + "\r\n\r\n";
  if (!co_await write_within(stream, handshake, timeout)) co_return false;

  std::string protocol_version;
  bool has_protocol = false;
  auto params = url.params();
  if (auto it = params.find("protocol"); it != params.end() && (*it).has_value) {
    has_protocol = true;
    protocol_version = (*it).value;
  }
  std::string pending(static_cast<const char*>(buffer.data().data()), buffer.size());
  Connection::start(shard, stream.release_socket(), std::move(slot), key, protocol_version,
                    has_protocol, std::move(pending));
  co_return true;
}

Response api_answer(const Request& request, api::RestResponse answer) {
  Response response =
      json_response(request, static_cast<http::status>(answer.status), std::move(answer.body));
  for (auto& [name, value] : answer.headers) response.set(name, value);
  return response;
}

api::RestRequest api_request(const Request& request, const boost::urls::url_view& url) {
  api::RestRequest out;
  out.method = std::string(request.method_string());
  out.path = std::string(url.encoded_path());
  for (auto param : url.params()) out.query.emplace_back(param.key, param.value);
  out.body = request.body();
  out.authorization = std::string(request[http::field::authorization]);
  out.origin = std::string(request[http::field::origin]);
  return out;
}

// An answer on its way from another thread. The waiting session holds it, and so does the
// callback, so that an answer that comes after the session gave up touches only this.
struct PendingAnswer {
  explicit PendingAnswer(asio::io_context& io) : wakeup(io) {}
  asio::steady_timer wakeup;  // cancelled when the answer is in
  std::optional<api::RestResponse> answer;
};

// Hands a resolved request to its handler and waits, at most `timeout`, for its answer, which
// may come from another thread (the engine's): it is posted back to this one. An answer given
// on this thread (the embedded engine answers at once) is taken as it is, without a wait.
asio::awaitable<Response> call_api(Shard& shard, const Request& request, api::ApiCall& call,
                                   std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<PendingAnswer>(shard.io());
  api::answer(call, [&io = shard.io(), pending](api::RestResponse answer) {
    if (io.get_executor().running_in_this_thread()) {
      pending->answer = std::move(answer);
      pending->wakeup.cancel();  // ends the wait if it has begun
      return;
    }
    asio::post(io, [pending, answer = std::move(answer)]() mutable {
      pending->answer = std::move(answer);
      pending->wakeup.cancel();
    });
  });
  if (!pending->answer) {
    pending->wakeup.expires_after(timeout);
    boost::system::error_code ignored;
    co_await pending->wakeup.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (!pending->answer) {
    Response late = error_response(request, http::status::service_unavailable,
                                   "The server did not answer in time; try again");
    late.keep_alive(false);
    co_return late;
  }
  co_return api_answer(request, std::move(*pending->answer));
}

// Takes a request that is already complete in `buffer` (pipelined behind the one just
// answered) without reading from the socket. False when more must be read first; `ec` is set
// when what is there is not a valid request.
bool parse_buffered(http::request_parser<http::string_body>& parser, beast::flat_buffer& buffer,
                    boost::system::error_code& ec) {
  while (buffer.size() > 0 && !parser.is_done()) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return false;
  }
  return parser.is_done();
}

// Every wait has a deadline (server.http_timeout_ms): reading a request (slow-loris
// protection), writing answers (a client that pipelines and never reads) and the engine's
// answer. The stream's timer closes the socket itself and cannot outlive it.
// The answer to a plain request over a connection limit.
Response over_limit(const Request& request, Admission admission) {
  if (admission == Admission::OverPerAddress) {
    return error_response(request, http::status::too_many_requests,
                          "Too many connections from your address; close some and retry");
  }
  Response response = error_response(request, http::status::service_unavailable,
                                     "The server has reached its connection limit; retry shortly");
  response.set(http::field::retry_after, "1");
  return response;
}

asio::awaitable<void> session(Shard& shard, asio::ip::tcp::socket socket, ConnectionSlot slot) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const std::size_t max_body = shard.context().settings.max_http_request_bytes;
  const std::chrono::milliseconds timeout{shard.context().settings.http_timeout_ms};
  // Answers not yet written. Requests that arrive pipelined are answered together, in one
  // write, once no complete request is left in the buffer.
  std::string out;
  boost::system::error_code ec;
  auto flush = [&]() -> asio::awaitable<bool> {
    if (out.empty()) co_return true;
    const bool written = co_await write_within(stream, out, timeout);
    out.clear();
    co_return written;
  };
  // The last answer of the session.
  auto answer_and_close = [&](Response response) -> asio::awaitable<void> {
    response.keep_alive(false);
    append_serialized(out, response);
    co_await flush();
  };
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(max_body);
    ec = {};
    if (!parse_buffered(parser, buffer, ec) && !ec) {
      if (!co_await flush()) co_return;
      stream.expires_after(timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      stream.expires_never();
    }
    if (ec == http::error::body_limit) {
      co_return co_await answer_and_close(
          error_response(Request{}, http::status::payload_too_large,
                         "Request body larger than " + std::to_string(max_body) + " bytes"));
    }
    if (is_malformed_request(ec)) {
      co_return co_await answer_and_close(error_response(
          Request{}, http::status::bad_request, "Malformed HTTP request: " + ec.message()));
    }
    // The client went away (nothing is waiting to be written: a buffered request cannot end so).
    if (ec) co_return;

    const Request& request = parser.get();
    // Before anything reads the body: a body whose end is guessed leaves the rest of it to
    // be taken for the next request.
    if (auto problem = protocol::http::check_transfer_encoding(transfer_encoding_of(request))) {
      co_return co_await answer_and_close(
          error_response(request, static_cast<http::status>(problem->status), problem->message));
    }
    auto url = boost::urls::parse_origin_form(request.target());
    if (!url) {
      co_return co_await answer_and_close(
          error_response(request, http::status::bad_request, "Malformed request target"));
    }
    if (is_websocket_upgrade(request)) {
      if (!co_await flush()) co_return;
      co_await upgrade(shard, stream, buffer, request, *url, timeout, slot);
      co_return;
    }
    if (!slot.admitted())
      co_return co_await answer_and_close(over_limit(request, slot.admission()));
    // Every other request goes through the route table (api/routes).
    const api::RestRequest call_request = api_request(request, *url);
    auto resolution = api::resolve(shard.context(), call_request);
    Response response;
    if (resolution.answer) {
      response = api_answer(request, std::move(*resolution.answer));
    } else if (resolution.call->route.kind == api::RouteKind::Stream) {
      // A stream takes the socket over; its refusals are answered here and the session goes on.
      if (!co_await flush()) co_return;
      auto refusal = open_sse_stream(shard, stream.socket(), slot, *resolution.call);
      if (!refusal) co_return;
      response = api_answer(request, std::move(*refusal));
    } else if (resolution.call->route.kind == api::RouteKind::DashboardStream) {
      if (!co_await flush()) co_return;
      auto refusal = open_dashboard_stream(shard, stream.socket(), slot);
      if (!refusal) co_return;
      response = api_answer(request, std::move(*refusal));
    } else {
      response = co_await call_api(shard, request, *resolution.call, timeout);
    }
    append_serialized(out, response, request.method() == http::verb::head);
    if (!response.keep_alive() || out.size() >= kMaxPendingAnswerBytes) {
      if (!co_await flush() || !response.keep_alive()) co_return;
    }
  }
}

}  // namespace

void serve_http(Shard& shard, asio::ip::tcp::socket socket, ConnectionSlot slot) {
  asio::co_spawn(shard.io(), session(shard, std::move(socket), std::move(slot)),
                 [](std::exception_ptr error) {
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     spdlog::debug("http session ended: {}", e.what());
                   }
                 });
}

}  // namespace greendot::transport
