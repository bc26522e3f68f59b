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
    for (auto& [channel, subscription] : self->channels_) subscription.confirmed = false;
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
  std::vector<std::string> batch;
  for (const auto& [channel, subscription] : channels_) {
    batch.push_back(channel);
    if (batch.size() == kSubscribeBatch) {
      send_subscribe(batch);
      batch.clear();
    }
  }
  if (!batch.empty()) send_subscribe(batch);
  if (on_up_) on_up_();
}

// As a subscription command, so that a refusal (an ACL's NOPERM) is an error reply for it,
// not a reply to no command that would close the connection.
void SingleClient::send_subscribe(const std::vector<std::string>& channels) {
  const std::uint64_t sent = ++subscribes_sent_;
  std::vector<std::string_view> args{"SUBSCRIBE"};
  for (const auto& channel : channels) {
    args.push_back(channel);
    channels_[channel] = Subscription{sent, false};
  }
  std::weak_ptr<SingleClient> weak = weak_from_this();
  link_->subscription_command(args, [weak, channels, sent](Result result) {
    auto self = weak.lock();
    const auto* reply = std::get_if<Reply>(&result);
    if (!self || !reply || reply->is_error()) return;  // renewed by the next connection
    for (const auto& channel : channels) {
      // Not one unsubscribed since, nor subscribed again after an UNSUBSCRIBE sent since.
      auto it = self->channels_.find(channel);
      if (it == self->channels_.end() || it->second.sent != sent) continue;
      it->second.confirmed = true;
      if (self->on_listening_) self->on_listening_(channel);
    }
  });
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
  if (channels_.contains(channel)) return;
  // Nothing while down (it fails at once): connected() renews every channel.
  send_subscribe({channel});
}

void SingleClient::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0) return;
  const std::string_view args[] = {"UNSUBSCRIBE", channel};
  link_->subscription_command(args, [](Result) {});
}

bool SingleClient::listening(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.confirmed && link_->up();
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
