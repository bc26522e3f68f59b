#include "transport/local_fanout.hpp"

#include <algorithm>

namespace greendot::transport {

std::size_t LocalFanout::slot_of(const Subscribers& subscribers, FrameSink* sink) {
  const auto& sinks = subscribers.sinks;
  if (sinks.size() < kIndexFrom && subscribers.index.empty()) {
    return static_cast<std::size_t>(std::find(sinks.begin(), sinks.end(), sink) - sinks.begin());
  }
  auto it = subscribers.index.find(sink);
  return it == subscribers.index.end() ? sinks.size() : it->second;
}

void LocalFanout::add(core::AppIndex app, std::string_view channel, FrameSink* sink) {
  if (apps_.size() <= app) apps_.resize(app + 1);
  Subscribers& subscribers = apps_[app][std::string(channel)];
  auto& sinks = subscribers.sinks;
  if (slot_of(subscribers, sink) != sinks.size()) return;  // already there
  sinks.push_back(sink);
  if (!subscribers.index.empty()) {
    subscribers.index.emplace(sink, sinks.size() - 1);
  } else if (sinks.size() >= kIndexFrom) {
    subscribers.index.reserve(sinks.size() * 2);
    for (std::size_t i = 0; i < sinks.size(); ++i) subscribers.index.emplace(sinks[i], i);
  }
}

void LocalFanout::remove(core::AppIndex app, std::string_view channel, FrameSink* sink) {
  if (apps_.size() <= app) return;
  auto it = apps_[app].find(std::string(channel));
  if (it == apps_[app].end()) return;
  Subscribers& subscribers = it->second;
  auto& sinks = subscribers.sinks;
  const std::size_t slot = slot_of(subscribers, sink);
  if (slot == sinks.size()) return;
  // Order among subscribers does not matter, so removal is a swap with the last.
  FrameSink* last = sinks.back();
  sinks.pop_back();
  if (!subscribers.index.empty()) {
    subscribers.index.erase(sink);
    if (last != sink) subscribers.index[last] = slot;
    // Given back whole (clear() would keep the buckets of the channel's largest size).
    if (sinks.size() < kIndexFrom / 2) decltype(subscribers.index)().swap(subscribers.index);
  }
  if (last != sink) sinks[slot] = last;
  if (sinks.empty()) apps_[app].erase(it);
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
