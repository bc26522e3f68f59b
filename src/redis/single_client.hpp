// The RedisClient of one Redis server (or a primary behind a managed endpoint): one RESP3
// connection carries the commands and the subscriptions, made again by a RedisLink when it
// fails, with every subscription renewed before on_up is told.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis/redis_link.hpp"
#include "redis/reply_watch.hpp"

namespace greendot::redis {

class SingleClient final : public RedisClient, public std::enable_shared_from_this<SingleClient> {
 public:
  // `tls`: for a rediss:// endpoint (see make_tls_context); none: the system's CA store.
  static std::shared_ptr<SingleClient> create(boost::asio::io_context& io, RedisEndpoint endpoint,
                                              ClientOptions options = {},
                                              std::shared_ptr<TlsContext> tls = nullptr);
  SingleClient(boost::asio::io_context& io, RedisEndpoint endpoint, ClientOptions options,
               std::shared_ptr<TlsContext> tls);

  void start() override;
  void stop() override;
  bool up() const override { return link_->up(); }
  bool cluster() const override { return false; }
  void command(std::string_view key, std::span<const std::string_view> args,
               ReplyHandler done) override;
  void subscribe(const std::string& channel) override;
  void unsubscribe(const std::string& channel) override;
  bool listening(const std::string& channel) const override;

 private:
  // A channel subscribed: the SUBSCRIBE for it last sent, and whether Redis confirmed it.
  struct Subscription {
    std::uint64_t sent = 0;
    bool confirmed = false;
  };
  // Sends SUBSCRIBE for `channels`; their confirmation counts only if none was sent since.
  void send_subscribe(const std::vector<std::string>& channels);
  void connected();
  void on_push(const Reply& push);
  void watch_deadlines();

  ClientOptions options_;
  std::shared_ptr<RedisLink> link_;
  std::unordered_map<std::string, Subscription> channels_;
  std::uint64_t subscribes_sent_ = 0;
  ReplyWatch replies_;  // whether the server still answers
  boost::asio::steady_timer deadline_timer_;
  bool stopped_ = true;
};

}  // namespace greendot::redis
