// The RedisClient the configuration asks for: a SingleClient for one Redis URL, a ClusterClient
// for a list of Cluster seed URLs (or for one, when the configuration says it is a Cluster: a
// managed Cluster's configuration endpoint).
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis/tls_context.hpp"

namespace greendot::redis {

struct RedisSettings {
  // redis://[user[:password]@]host[:port][/db], or rediss:// for TLS. Several: Cluster seeds,
  // all logged in to with the first one's credentials.
  std::vector<std::string> urls;
  bool cluster = false;  // a Cluster even with one URL
  TlsOptions tls;        // for rediss:// URLs
  ClientOptions options;
};

// What is wrong with the settings; the message names the URL by its place in the list, never
// its password.
struct RedisSettingsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Not started: the caller sets the handlers, then start(). Throws RedisSettingsError.
std::shared_ptr<RedisClient> make_redis_client(boost::asio::io_context& io,
                                               const RedisSettings& settings);

}  // namespace greendot::redis
