#include "transport/local_fanout.hpp"

#include <algorithm>

namespace greendot::transport {

void LocalFanout::add(core::AppIndex app, std::string_view channel, FrameSink* sink) {
  if (apps_.size() <= app) apps_.resize(app + 1);
  apps_[app][std::string(channel)].push_back(sink);
}

void LocalFanout::remove(core::AppIndex app, std::string_view channel, FrameSink* sink) {
  if (apps_.size() <= app) return;
  auto it = apps_[app].find(std::string(channel));
  if (it == apps_[app].end()) return;
  auto& sinks = it->second;
  // Order among subscribers does not matter, so removal is a swap with the last.
  auto pos = std::find(sinks.begin(), sinks.end(), sink);
  if (pos != sinks.end()) {
    *pos = sinks.back();
    sinks.pop_back();
  }
  if (sinks.empty()) apps_[app].erase(it);
}

const std::vector<FrameSink*>* LocalFanout::find(core::AppIndex app,
                                                 std::string_view channel) const {
  if (apps_.size() <= app) return nullptr;
  auto it = apps_[app].find(std::string(channel));
  return it == apps_[app].end() ? nullptr : &it->second;
}

void LocalFanout::deliver(const engine::ChannelMessage& message) const {
  const auto* sinks = find(message.app, message.channel);
  if (!sinks) return;
  // send_frame never unsubscribes synchronously (a slow consumer's close is posted), so the
  // list cannot change under this loop.
  for (FrameSink* sink : *sinks) {
    if (!message.except.empty() && sink->socket_id() == message.except) continue;
    if (!message.except_user.empty() && sink->is_member_as(message.channel, message.except_user)) {
      continue;
    }
    sink->send_frame(message.frame);
  }
}

std::size_t LocalFanout::subscriber_count(core::AppIndex app, std::string_view channel) const {
  const auto* sinks = find(app, channel);
  return sinks ? sinks->size() : 0;
}

}  // namespace greendot::transport
