#include "redis/single_client.hpp"

#include <vector>

namespace greendot::redis {

namespace {
constexpr auto kDeadlineCheck = std::chrono::milliseconds(100);
// SUBSCRIBE takes any number of channels; renewing thousands goes in batches of this many.
constexpr std::size_t kSubscribeBatch = 512;
}  // namespace

std::shared_ptr<SingleClient> SingleClient::create(boost::asio::io_context& io,
                                                   RedisEndpoint endpoint, ClientOptions options,
                                                   std::shared_ptr<TlsContext> tls) {
  return std::make_shared<SingleClient>(io, std::move(endpoint), options, std::move(tls));
}

SingleClient::SingleClient(boost::asio::io_context& io, RedisEndpoint endpoint,
                           ClientOptions options, std::shared_ptr<TlsContext> tls)
    : options_(options),
      link_(RedisLink::create(io, std::move(endpoint),
                              RedisLink::Backoff{options.first_backoff, options.max_backoff},
                              std::move(tls))),
      deadline_timer_(io) {
  link_->load_scripts_on_connect(scripts_);
}

void SingleClient::start() {
  if (!stopped_) return;
  stopped_ = false;
  std::weak_ptr<SingleClient> weak = weak_from_this();
  link_->on_up([weak] {
    if (auto self = weak.lock()) self->connected();
  });
  link_->on_down([weak](const std::string& why) {
    auto self = weak.lock();
    if (!self) return;
    self->replies_.clear();
    if (self->on_down_) self->on_down_(why);
  });
  link_->on_push([weak](Reply push) {
    if (auto self = weak.lock()) self->on_push(push);
  });
  link_->start();
  watch_deadlines();
}

void SingleClient::stop() {
  stopped_ = true;
  deadline_timer_.cancel();
  link_->stop();
  replies_.clear();
}

// Subscriptions live on the connection: a new one has none until they are renewed. They are
// sent before on_up is told, so whatever the engine does next comes after them on the wire.
void SingleClient::connected() {
  std::vector<std::string_view> args{"SUBSCRIBE"};
  for (const auto& channel : channels_) {
    args.push_back(channel);
    if (args.size() > kSubscribeBatch) {
      link_->subscription_command(args, [](Result) {});
      args.resize(1);
    }
  }
  if (args.size() > 1) link_->subscription_command(args, [](Result) {});
  if (on_up_) on_up_();
}

void SingleClient::command(std::string_view, std::span<const std::string_view> args,
                           ReplyHandler done) {
  if (!link_->up()) return done(ConnectionError{"Redis is out of reach"});
  replies_.sent(std::chrono::steady_clock::now());
  std::weak_ptr<SingleClient> weak = weak_from_this();
  link_->command(args, [weak, done = std::move(done)](Result result) {
    if (auto self = weak.lock()) self->replies_.replied(std::chrono::steady_clock::now());
    done(std::move(result));
  });
}

void SingleClient::subscribe(const std::string& channel) {
  if (!channels_.insert(channel).second) return;
  const std::string_view args[] = {"SUBSCRIBE", channel};
  // As a subscription command, so that a refusal (an ACL's NOPERM) is an error reply for it,
  // not a reply to no command that would close the connection. Nothing while down:
  // connected() renews every channel.
  link_->subscription_command(args, [](Result) {});
}

void SingleClient::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0) return;
  const std::string_view args[] = {"UNSUBSCRIBE", channel};
  link_->subscription_command(args, [](Result) {});
}

// A RESP3 message push: ["message", channel, payload]. Subscribe confirmations and other
// pushes carry nothing for the engine.
void SingleClient::on_push(const Reply& push) {
  if (push.elements.size() != 3 || !on_message_) return;
  const auto& kind = push.elements[0];
  if (!kind.is_string() || kind.text != "message") return;
  if (!push.elements[1].is_string() || !push.elements[2].is_string()) return;
  // A message for a channel just unsubscribed can still arrive; it is nobody's now.
  if (!channels_.contains(push.elements[1].text)) return;
  on_message_(push.elements[1].text, push.elements[2].text);
}

void SingleClient::watch_deadlines() {
  deadline_timer_.expires_after(kDeadlineCheck);
  std::weak_ptr<SingleClient> weak = weak_from_this();
  deadline_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    if (self->replies_.stalled(std::chrono::steady_clock::now(), self->options_.command_timeout)) {
      self->link_->drop();
    }
    self->watch_deadlines();
  });
}

}  // namespace greendot::redis
