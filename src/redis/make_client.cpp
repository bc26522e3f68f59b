#include "redis/make_client.hpp"

#include "redis/cluster_client.hpp"
#include "redis/single_client.hpp"

namespace greendot::redis {

std::shared_ptr<RedisClient> make_redis_client(boost::asio::io_context& io,
                                               const RedisSettings& settings) {
  if (settings.urls.empty()) throw RedisSettingsError("no Redis URL is given");
  const bool cluster = settings.cluster || settings.urls.size() > 1;
  std::vector<RedisEndpoint> endpoints;
  for (std::size_t i = 0; i < settings.urls.size(); ++i) {
    const std::string which =
        settings.urls.size() == 1 ? "the Redis URL" : "Redis URL " + std::to_string(i + 1);
    auto parsed = parse_redis_url(settings.urls[i]);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      throw RedisSettingsError(which + ": " + *error);
    }
    auto& endpoint = std::get<RedisEndpoint>(parsed);
    if (cluster && endpoint.db != 0) {
      throw RedisSettingsError(which + ": a Redis Cluster has only database 0");
    }
    if (!endpoints.empty() && endpoint.tls != endpoints.front().tls) {
      throw RedisSettingsError(which + ": every seed must be rediss:// or none");
    }
    endpoints.push_back(std::move(endpoint));
  }
  std::shared_ptr<TlsContext> tls;
  if (endpoints.front().tls) {
    auto made = make_tls_context(settings.tls);
    if (auto* error = std::get_if<std::string>(&made)) throw RedisSettingsError("TLS: " + *error);
    tls = std::get<std::shared_ptr<TlsContext>>(std::move(made));
  }
  if (!cluster)
    return SingleClient::create(io, std::move(endpoints.front()), settings.options, tls);
  return ClusterClient::create(io, std::move(endpoints), settings.options, tls);
}

}  // namespace greendot::redis
