// One HTTP/1.1 POST over a fresh TCP connection, asynchronous on the caller's io_context. This
// is the only file that includes Beast, so that its long compile is paid once.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "config/http_url.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace greendot::webhooks {

struct HttpPostResult {
  bool ok = false;      // a 2xx status arrived
  unsigned status = 0;  // 0 when no response arrived
  std::string error;    // why not ok, for the log: "HTTP 500", "Connection refused", ...
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Resolves, connects, sends `body` with `headers` (plus Host, Content-Length and
// Connection: close) and reads the response, all within `timeout`. `done` is called exactly once,
// on `io`'s thread, unless `io` is stopped and destroyed first.
void async_http_post(boost::asio::io_context& io, const config::HttpUrl& url,
                     const HttpHeaders& headers, std::string body,
                     std::chrono::milliseconds timeout, std::function<void(HttpPostResult)> done);

}  // namespace greendot::webhooks
