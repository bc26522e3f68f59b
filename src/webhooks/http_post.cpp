#include "webhooks/http_post.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>

namespace greendot::webhooks {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A receiver's answer is only looked at for its status; a larger body is not read.
constexpr std::uint64_t kResponseBodyLimit = 64 * 1024;

// One request from resolve to response. It keeps itself alive through the handlers it has
// outstanding; a single deadline covers every step, so a stalled DNS lookup, connect, write or
// read all end the same way.
class PostOperation : public std::enable_shared_from_this<PostOperation> {
 public:
  PostOperation(asio::io_context& io, const config::HttpUrl& url, const HttpHeaders& headers,
                std::string body, std::chrono::milliseconds timeout,
                std::function<void(HttpPostResult)> done)
      : resolver_(io),
        socket_(io),
        deadline_(io),
        host_(url.host),
        port_(std::to_string(url.port)),
        timeout_(timeout),
        done_(std::move(done)) {
    request_.method(http::verb::post);
    request_.target(url.target);
    request_.version(11);
    request_.set(http::field::host, url.host_header);
    request_.set(http::field::connection, "close");
    for (const auto& [name, value] : headers) request_.set(name, value);
    request_.body() = std::move(body);
    request_.prepare_payload();
    parser_.body_limit(kResponseBodyLimit);
  }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec)
        self->finish(
            {false, 0, "timed out after " + std::to_string(self->timeout_.count()) + " ms"});
    });
    resolver_.async_resolve(
        host_, port_,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          if (ec) return self->fail("cannot resolve host", ec);
          self->connect(results);
        });
  }

 private:
  void connect(const tcp::resolver::results_type& results) {
    asio::async_connect(socket_, results,
                        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                          if (ec) return self->fail("cannot connect", ec);
                          self->write();
                        });
  }

  void write() {
    http::async_write(socket_, request_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->fail("cannot send", ec);
      self->read();
    });
  }

  void read() {
    http::async_read(
        socket_, buffer_, parser_, [self = shared_from_this()](error_code ec, std::size_t) {
          // An oversized body still brought a status, which is all that matters.
          if (ec && !(ec == http::error::body_limit && self->parser_.is_header_done())) {
            return self->fail("no response", ec);
          }
          const unsigned status = self->parser_.get().result_int();
          if (status >= 200 && status < 300) return self->finish({true, status, {}});
          self->finish({false, status, "HTTP " + std::to_string(status)});
        });
  }

  void fail(std::string_view step, error_code ec) {
    finish({false, 0, std::string(step) + ": " + ec.message()});
  }

  // The first outcome wins; ending the others' operations makes them report to a finished
  // operation, which ignores them.
  void finish(HttpPostResult result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    done_(std::move(result));
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  std::string host_;
  std::string port_;
  std::chrono::milliseconds timeout_;
  http::request<http::string_body> request_;
  boost::beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::function<void(HttpPostResult)> done_;
  bool finished_ = false;
};

}  // namespace

void async_http_post(asio::io_context& io, const config::HttpUrl& url, const HttpHeaders& headers,
                     std::string body, std::chrono::milliseconds timeout,
                     std::function<void(HttpPostResult)> done) {
  std::make_shared<PostOperation>(io, url, headers, std::move(body), timeout, std::move(done))
      ->start();
}

}  // namespace greendot::webhooks
