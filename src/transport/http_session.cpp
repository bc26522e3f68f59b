#include "transport/http_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <chrono>

#include "api/routes.hpp"
#include "protocol/json_text.hpp"
#include "protocol/websocket_handshake.hpp"
#include "transport/connection.hpp"
#include "transport/shard.hpp"
#include "transport/sse_stream.hpp"

namespace greendot::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

// A client must send its whole request within this time (slow-loris protection).
constexpr auto kRequestTimeout = std::chrono::seconds(30);
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

bool is_websocket_upgrade(const Request& request) {
  return header_has_token(request[http::field::connection], "upgrade") &&
         header_has_token(request[http::field::upgrade], "websocket");
}

// Answers an upgrade request; true when the socket now belongs to a Connection.
asio::awaitable<bool> upgrade(Shard& shard, asio::ip::tcp::socket& socket,
                              beast::flat_buffer& buffer, const Request& request,
                              const boost::urls::url_view& url) {
  const std::string path = url.path();  // decoded, so a copy
  std::string_view key = std::string_view(path).substr(kAppPathPrefix.size());
  if (!path.starts_with(kAppPathPrefix) || key.empty() || key.find('/') != std::string_view::npos) {
    auto response =
        error_response(request, http::status::not_found, "WebSocket connections go to /app/{key}");
    response.keep_alive(false);
    co_await http::async_write(socket, response, asio::use_awaitable);
    co_return false;
  }
  const auto client_key = request[http::field::sec_websocket_key];
  if (request.method() != http::verb::get || request[http::field::sec_websocket_version] != "13" ||
      !protocol::websocket::valid_client_key(client_key)) {
    auto response = error_response(request, http::status::bad_request,
                                   "A WebSocket upgrade needs GET, Sec-WebSocket-Version: 13 and "
                                   "a valid Sec-WebSocket-Key");
    response.set(http::field::sec_websocket_version, "13");
    response.keep_alive(false);
    co_await http::async_write(socket, response, asio::use_awaitable);
    co_return false;
  }

  std::string handshake =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      protocol::websocket::accept_key(client_key) + "\r\n\r\n";
  co_await asio::async_write(socket, asio::buffer(handshake), asio::use_awaitable);

  std::string protocol_version;
  bool has_protocol = false;
  auto params = url.params();
  if (auto it = params.find("protocol"); it != params.end() && (*it).has_value) {
    has_protocol = true;
    protocol_version = (*it).value;
  }
  std::string pending(static_cast<const char*>(buffer.data().data()), buffer.size());
  Connection::start(shard, std::move(socket), key, protocol_version, has_protocol,
                    std::move(pending));
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

// Hands a resolved request to its handler and waits for the answer, which may come from
// another thread (the engine's): it is posted back to this one.
asio::awaitable<api::RestResponse> call_api(Shard& shard, api::ApiCall& call) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(api::RestResponse)>(
      [&shard, &call](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        api::answer(call, [&shard, shared](api::RestResponse response) {
          asio::post(shard.io(), [shared, response = std::move(response)]() mutable {
            (*shared)(std::move(response));
          });
        });
      },
      asio::use_awaitable);
}

// Appends the response's bytes, as Beast would write them, to `out`.
void append_serialized(std::string& out, Response& response) {
  http::serializer<false, http::string_body> serializer(response);
  boost::system::error_code ec;
  do {
    serializer.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      for (auto piece : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(piece.data()), piece.size());
      }
      serializer.consume(beast::buffer_bytes(buffers));
    });
  } while (!ec && !serializer.is_done());
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

asio::awaitable<void> session(Shard& shard, asio::ip::tcp::socket socket) {
  beast::flat_buffer buffer;
  asio::steady_timer deadline(socket.get_executor());
  const std::size_t max_body = shard.context().settings.max_http_request_bytes;
  // Answers not yet written. Requests that arrive pipelined are answered together, in one
  // write, once no complete request is left in the buffer.
  std::string out;
  boost::system::error_code ec;
  auto flush = [&]() -> asio::awaitable<bool> {
    if (out.empty()) co_return true;
    co_await asio::async_write(socket, asio::buffer(out),
                               asio::redirect_error(asio::use_awaitable, ec));
    out.clear();
    co_return !ec;
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
      deadline.expires_after(kRequestTimeout);
      deadline.async_wait([&socket](const boost::system::error_code& ec) {
        if (!ec) socket.close();
      });
      co_await http::async_read(socket, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      deadline.cancel();
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
    auto url = boost::urls::parse_origin_form(request.target());
    if (!url) {
      co_return co_await answer_and_close(
          error_response(request, http::status::bad_request, "Malformed request target"));
    }
    if (is_websocket_upgrade(request)) {
      if (!co_await flush()) co_return;
      co_await upgrade(shard, socket, buffer, request, *url);
      co_return;
    }
    // Every other request goes through the route table (api/routes).
    const api::RestRequest call_request = api_request(request, *url);
    auto resolution = api::resolve(shard.context(), call_request);
    Response response;
    if (resolution.answer) {
      response = api_answer(request, std::move(*resolution.answer));
    } else if (resolution.call->route.kind == api::RouteKind::Stream) {
      // A stream takes the socket over; its refusals are answered here and the session goes on.
      if (!co_await flush()) co_return;
      auto refusal = open_sse_stream(shard, socket, *resolution.call);
      if (!refusal) co_return;
      response = api_answer(request, std::move(*refusal));
    } else {
      response = api_answer(request, co_await call_api(shard, *resolution.call));
    }
    append_serialized(out, response);
    if (!response.keep_alive() || out.size() >= kMaxPendingAnswerBytes) {
      if (!co_await flush() || !response.keep_alive()) co_return;
    }
  }
}

}  // namespace

void serve_http(Shard& shard, asio::ip::tcp::socket socket) {
  asio::co_spawn(shard.io(), session(shard, std::move(socket)), [](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::debug("http session ended: {}", e.what());
    }
  });
}

}  // namespace greendot::transport
