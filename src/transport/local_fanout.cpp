#include "transport/local_fanout.hpp"

namespace greendot::transport {

void LocalFanout::add(core::AppIndex app, std::string_view channel, FrameSink* sink) {
  if (apps_.size() <= app) apps_.resize(app + 1);
  Subscribers& subscribers = apps_[app][std::string(channel)];
  if (!subscribers.index.emplace(sink, subscribers.sinks.size()).second) return;
  subscribers.sinks.push_back(sink);
}

void LocalFanout::remove(core::AppIndex app, std::string_view channel, FrameSink* sink) {
  if (apps_.size() <= app) return;
  auto it = apps_[app].find(std::string(channel));
  if (it == apps_[app].end()) return;
  Subscribers& subscribers = it->second;
  auto position = subscribers.index.find(sink);
  if (position == subscribers.index.end()) return;
  // Order among subscribers does not matter, so removal is a swap with the last.
  const std::size_t slot = position->second;
  subscribers.index.erase(position);
  FrameSink* last = subscribers.sinks.back();
  subscribers.sinks.pop_back();
  if (last != sink) {
    subscribers.sinks[slot] = last;
    subscribers.index[last] = slot;
  }
  if (subscribers.sinks.empty()) apps_[app].erase(it);
}

const LocalFanout::Subscribers* LocalFanout::find(core::AppIndex app,
                                                  std::string_view channel) const {
  if (apps_.size() <= app) return nullptr;
  auto it = apps_[app].find(std::string(channel));
  return it == apps_[app].end() ? nullptr : &it->second;
}

void LocalFanout::deliver(const engine::ChannelMessage& message) const {
  const auto* subscribers = find(message.app, message.channel);
  if (!subscribers) return;
  // send_frame never unsubscribes synchronously (a slow consumer's close is posted), so the
  // list cannot change under this loop.
  for (FrameSink* sink : subscribers->sinks) {
    if (!message.except.empty() && sink->socket_id() == message.except) continue;
    if (!message.except_user.empty() && sink->is_member_as(message.channel, message.except_user)) {
      continue;
    }
    if (message.joined_after != 0 && !sink->joined_after(message.channel, message.joined_after)) {
      continue;
    }
    sink->send_frame(message.frame);
  }
}

std::size_t LocalFanout::subscriber_count(core::AppIndex app, std::string_view channel) const {
  const auto* subscribers = find(app, channel);
  return subscribers ? subscribers->sinks.size() : 0;
}

std::size_t LocalFanout::channel_count() const {
  std::size_t count = 0;
  for (const auto& channels : apps_) count += channels.size();
  return count;
}

}  // namespace greendot::transport
