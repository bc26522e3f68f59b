// One command on a connection of its own, made for it and closed after it: what a Cluster
// client asks a seed node (its slot map) before it has connections to the primaries. Ends
// with the reply, or a ConnectionError when the server cannot be reached, refuses the login
// or has not answered within `timeout`.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string_view>

#include "redis/connection.hpp"

namespace greendot::redis {

void one_shot_query(boost::asio::io_context& io, const RedisEndpoint& endpoint,
                    std::shared_ptr<TlsContext> tls, std::span<const std::string_view> args,
                    std::chrono::milliseconds timeout, ReplyHandler done);

}  // namespace greendot::redis
