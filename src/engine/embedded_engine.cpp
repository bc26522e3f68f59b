#include "engine/embedded_engine.hpp"

#include "protocol/pusher_messages.hpp"

namespace greendot::engine {

namespace pusher = protocol::pusher;

void EmbeddedEngine::join(JoinRequest request, JoinCallback done) {
  std::lock_guard lock(mutex_);
  auto result = book_.join(request.app, request.channel, request.user_id, request.user_info,
                           request.session, request.max_members);
  if (result.status != core::PresenceBook::JoinStatus::Joined) {
    done(JoinOutcome{});
    return;
  }
  pusher::PresenceSnapshot snapshot;
  book_.for_each_member(
      request.app, request.channel,
      [&](const std::string& id, const std::string& info) { snapshot.add(id, info); });
  // The joiner's answer is handed over before member_added is published, both under the
  // lock, so every thread sees a channel's events in the order the book decided them.
  done(JoinOutcome{true, std::move(snapshot).finish()});
  if (result.member_added) {
    broker_.publish(ChannelMessage{
        request.app, request.channel,
        make_text_frame(pusher::member_added(request.channel, request.user_id, request.user_info)),
        request.socket});
  }
}

void EmbeddedEngine::leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
                           core::SessionId session, core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  if (auto removed = book_.leave(app, channel, user_id, session, clock_(), grace_ms)) {
    publish_removal(*removed);
  }
}

void EmbeddedEngine::tick(core::Millis now) {
  std::lock_guard lock(mutex_);
  std::vector<core::PresenceEvent> removed;
  book_.advance(now, removed);
  for (const auto& event : removed) publish_removal(event);
}

void EmbeddedEngine::publish_removal(const core::PresenceEvent& event) {
  broker_.publish(
      ChannelMessage{event.app,
                     event.channel,
                     make_text_frame(pusher::member_removed(event.channel, event.user_id)),
                     {}});
}

}  // namespace greendot::engine
