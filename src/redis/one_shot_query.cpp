#include "redis/one_shot_query.hpp"

#include <boost/asio/steady_timer.hpp>

namespace greendot::redis {

void one_shot_query(boost::asio::io_context& io, const RedisEndpoint& endpoint,
                    std::shared_ptr<TlsContext> tls, std::span<const std::string_view> args,
                    std::chrono::milliseconds timeout, ReplyHandler done) {
  auto connection = RedisConnection::create(io);
  auto timer = std::make_shared<boost::asio::steady_timer>(io, timeout);
  // Closing fails the command, which is how a timeout ends it: `done` is told exactly once.
  timer->async_wait([connection](const boost::system::error_code& ec) {
    if (!ec) connection->close();
  });
  connection->connect(
      endpoint, [](std::optional<ConnectionError>) {}, std::move(tls));
  connection->command(args, [connection, timer, done = std::move(done)](Result result) mutable {
    timer->cancel();
    if (auto* error = std::get_if<ConnectionError>(&result); error && error->message == "closed") {
      error->message = "no answer within the deadline";
    }
    done(std::move(result));
    connection->close();
  });
}

}  // namespace greendot::redis
