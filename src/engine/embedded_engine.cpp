#include "engine/embedded_engine.hpp"

#include "protocol/pusher_messages.hpp"

namespace greendot::engine {

namespace pusher = protocol::pusher;

namespace {

std::string snapshot_key(core::AppIndex app, std::string_view channel) {
  std::string key = std::to_string(app);
  key.push_back('\n');
  key.append(channel);
  return key;
}

}  // namespace

void EmbeddedEngine::join(JoinRequest request, JoinCallback done) {
  std::lock_guard lock(mutex_);
  const bool was_online = online(request.app, request.user_id);
  auto result = book_.join(request.app, request.channel, request.user_id, request.user_info,
                           request.session, request.max_members);
  if (result.status != core::PresenceBook::JoinStatus::Joined) {
    done(JoinOutcome{});
    return;
  }
  if (occupancy_.add(request.app, request.channel)) occupied(request.app, request.channel);
  const auto& presence =
      snapshot(request.app, request.channel, result.member_added ? &request.user_id : nullptr,
               &request.user_info);
  // An invisible user is in no one's member list but their own.
  std::string presence_data;
  if (visible(request.app, request.user_id)) {
    presence_data = presence.str();
  } else {
    pusher::PresenceSnapshot with_self = presence;
    with_self.add(request.user_id, request.user_info);
    presence_data = with_self.str();
  }
  // The joiner's answer is handed over before member_added is published, both under the
  // lock, so every thread sees a channel's events in the order the book decided them.
  done(JoinOutcome{true, std::move(presence_data)});
  if (result.member_added) {
    publish_addition(request.app, request.channel, request.user_id, request.user_info,
                     request.socket);
  }
  if (!was_online) came_online(request.app, request.user_id);
}

void EmbeddedEngine::publish_addition(core::AppIndex app, const std::string& channel,
                                      const std::string& user_id, const std::string& user_info,
                                      protocol::SocketId except) {
  // Webhooks tell the application the truth; only other users are kept from invisible ones.
  member_webhook(app, webhooks::EventType::MemberAdded, channel, user_id);
  if (!visible(app, user_id)) return;
  broker_.publish(ChannelMessage{app,
                                 channel,
                                 make_text_frame(pusher::member_added(channel, user_id, user_info)),
                                 except,
                                 {}});
}

bool EmbeddedEngine::visible(core::AppIndex app, const std::string& user_id) const {
  return users_.get(app_ids_[app], user_id).privacy.visibility == storage::Visibility::Everyone;
}

void EmbeddedEngine::heartbeat(HeartbeatRequest request, HeartbeatCallback done) {
  std::lock_guard lock(mutex_);
  const core::Millis now = clock_();
  const bool was_online = online(request.app, request.user_id);
  std::vector<bool> accepted;
  accepted.reserve(request.channels.size());
  bool any_added = false;
  for (const auto& channel : request.channels) {
    auto result = book_.heartbeat(request.app, channel, request.user_id, request.user_info, now,
                                  request.ttl_ms, request.grace_ms, request.max_members);
    const bool joined = result.status == core::PresenceBook::JoinStatus::Joined;
    accepted.push_back(joined);
    if (!result.member_added) continue;
    any_added = true;
    // Heartbeats are members but not subscriptions: subscription counts and channel_occupied /
    // channel_vacated stay about connections, while user counts and listings include them.
    snapshot(request.app, channel, &request.user_id, &request.user_info);
    publish_addition(request.app, channel, request.user_id, request.user_info, {});
  }
  // Only a new membership can bring the user online; a renewal (the common ping) cannot.
  if (any_added && !was_online && online(request.app, request.user_id)) {
    came_online(request.app, request.user_id);
  }
  if (request.status) set_status_locked(request.app, request.user_id, *request.status);
  done(std::move(accepted));
}

void EmbeddedEngine::heartbeat_offline(core::AppIndex app, std::string user_id, std::string channel,
                                       core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  const core::Millis now = clock_();
  std::vector<std::string> channels;
  if (!channel.empty()) {
    channels.push_back(std::move(channel));
  } else if (const auto* all = book_.channels_of(app, user_id)) {
    channels = *all;  // a copy: removals change the index
  }
  for (const auto& c : channels) {
    if (auto removed = book_.end_heartbeat(app, c, user_id, now, grace_ms)) {
      publish_removal(*removed);
    }
  }
}

void EmbeddedEngine::users_presence(core::AppIndex app, std::vector<std::string> user_ids,
                                    UserPresenceCallback done) {
  std::lock_guard lock(mutex_);
  const std::int64_t wall_now = wall_clock_();
  std::vector<UserPresence> answer;
  answer.reserve(user_ids.size());
  for (const auto& user : user_ids) {
    storage::UserRecord record = users_.get(app_ids_[app], user);
    UserPresence presence;
    presence.online = online(app, user);
    if (auto it = statuses_.find(snapshot_key(app, user)); it != statuses_.end()) {
      presence.status = it->second;
    }
    presence.last_seen_ms =
        presence.online ? std::optional<std::int64_t>(wall_now) : record.last_seen_ms;
    presence.recorded_last_seen_ms = record.last_seen_ms;
    presence.privacy = record.privacy;
    answer.push_back(presence);
  }
  done(std::move(answer));
}

void EmbeddedEngine::update_privacy(core::AppIndex app, std::string user_id, PrivacyChange change,
                                    std::function<void(storage::Privacy)> done) {
  std::lock_guard lock(mutex_);
  storage::Privacy privacy = users_.get(app_ids_[app], user_id).privacy;
  if (change.visibility) privacy.visibility = *change.visibility;
  if (change.last_seen) privacy.last_seen = *change.last_seen;
  done(privacy);
  const bool was_visible = visible(app, user_id);
  users_.set_privacy(app_ids_[app], user_id, privacy);
  const bool now_visible = privacy.visibility == storage::Visibility::Everyone;
  if (was_visible == now_visible || !online(app, user_id)) return;
  // To watchers an invisible user goes offline, and comes back online when visible again.
  tell_watchers(app, user_id, now_visible ? "online" : "offline");
  const auto* channels = book_.channels_of(app, user_id);
  if (!channels) return;
  for (const auto& channel : *channels) {
    snapshots_.erase(snapshot_key(app, channel));
    std::string text;
    if (now_visible) {
      std::string info;
      book_.for_each_member(app, channel, [&](const std::string& id, const std::string& i) {
        if (id == user_id) info = i;
      });
      text = pusher::member_added(channel, user_id, info);
    } else {
      text = pusher::member_removed(channel, user_id);
    }
    broker_.publish(ChannelMessage{app, channel, make_text_frame(text), {}, user_id});
  }
}

bool EmbeddedEngine::online(core::AppIndex app, const std::string& user_id) const {
  return book_.channels_of(app, user_id) != nullptr ||
         signed_in_.contains(snapshot_key(app, user_id));
}

void EmbeddedEngine::came_online(core::AppIndex app, const std::string& user_id) {
  if (visible(app, user_id)) tell_watchers(app, user_id, "online");
}

void EmbeddedEngine::went_offline(core::AppIndex app, const std::string& user_id,
                                  std::int64_t at_wall_ms) {
  // An invisible user's sessions are not recorded: their last seen stays what others last
  // could see, or it would tell when they were secretly online.
  if (visible(app, user_id)) users_.record_last_seen(app_ids_[app], user_id, at_wall_ms);
  statuses_.erase(snapshot_key(app, user_id));
  // Invisible users were never reported online, so their going is not reported either.
  if (visible(app, user_id)) tell_watchers(app, user_id, "offline");
}

void EmbeddedEngine::tell_watchers(core::AppIndex app, const std::string& user_id,
                                   std::string_view event) {
  auto it = watchers_.find(snapshot_key(app, user_id));
  if (it == watchers_.end()) return;
  const auto frame = make_text_frame(pusher::watchlist_event(event, {user_id}));
  for (const auto& [watcher, count] : it->second) {
    broker_.publish(ChannelMessage{app, watchlist_channel(watcher), frame, {}, {}});
  }
}

void EmbeddedEngine::signed_in(core::AppIndex app, std::string user_id) {
  std::lock_guard lock(mutex_);
  const bool was_online = online(app, user_id);
  ++signed_in_[snapshot_key(app, user_id)];
  if (!was_online) came_online(app, user_id);
}

void EmbeddedEngine::signed_out(core::AppIndex app, std::string user_id) {
  std::lock_guard lock(mutex_);
  auto it = signed_in_.find(snapshot_key(app, user_id));
  if (it == signed_in_.end()) return;
  if (--it->second == 0) signed_in_.erase(it);
  if (!online(app, user_id)) went_offline(app, user_id, wall_clock_());
}

void EmbeddedEngine::watch(core::AppIndex app, std::string watcher,
                           std::vector<std::string> watched, OnlineCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> online_now;
  for (const auto& user : watched) {
    ++watchers_[snapshot_key(app, user)][watcher];
    if (online(app, user) && visible(app, user)) online_now.push_back(user);
  }
  done(std::move(online_now));
}

void EmbeddedEngine::unwatch(core::AppIndex app, std::string watcher,
                             std::vector<std::string> watched) {
  std::lock_guard lock(mutex_);
  for (const auto& user : watched) {
    auto it = watchers_.find(snapshot_key(app, user));
    if (it == watchers_.end()) continue;
    auto w = it->second.find(watcher);
    if (w != it->second.end() && --w->second == 0) it->second.erase(w);
    if (it->second.empty()) watchers_.erase(it);
  }
}

void EmbeddedEngine::set_status(core::AppIndex app, std::string user_id, UserStatus status) {
  std::lock_guard lock(mutex_);
  set_status_locked(app, user_id, status);
}

void EmbeddedEngine::set_status_locked(core::AppIndex app, const std::string& user_id,
                                       UserStatus status) {
  const auto* channels = book_.channels_of(app, user_id);
  if (!channels) return;  // only online users have a status
  const std::string key = snapshot_key(app, user_id);
  auto it = statuses_.find(key);
  const UserStatus before = it == statuses_.end() ? UserStatus::Online : it->second;
  if (before == status) return;
  if (status == UserStatus::Online) {
    statuses_.erase(it);
  } else {
    statuses_[key] = status;
  }
  if (!visible(app, user_id)) return;
  for (const auto& channel : *channels) {
    broker_.publish(
        ChannelMessage{app,
                       channel,
                       make_text_frame(pusher::member_updated(
                           channel, user_id, status == UserStatus::Away ? "away" : "online")),
                       {},
                       {}});
  }
}

void EmbeddedEngine::leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
                           core::SessionId session, core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  const core::Millis now = clock_();
  if (auto removed = book_.leave(app, channel, user_id, session, now, grace_ms)) {
    publish_removal(*removed);
  }
  if (occupancy_.remove(app, channel, now, grace_ms)) vacated(app, channel);
}

void EmbeddedEngine::subscribed(core::AppIndex app, std::string_view channel) {
  std::lock_guard lock(mutex_);
  if (occupancy_.add(app, channel)) occupied(app, channel);
}

void EmbeddedEngine::unsubscribed(core::AppIndex app, std::string_view channel,
                                  core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  if (occupancy_.remove(app, channel, clock_(), grace_ms)) vacated(app, channel);
}

ChannelStats EmbeddedEngine::stats_locked(core::AppIndex app, std::string_view channel) const {
  // Invisible members are not counted: the count reaches users too. Proportional to the
  // channel's members, which is fine for the REST queries that ask.
  std::uint32_t members = 0;
  bool anyone = false;
  book_.for_each_member(app, channel, [&](const std::string& id, const std::string&) {
    anyone = true;
    if (visible(app, id)) ++members;
  });
  return ChannelStats{occupancy_.occupied(app, channel) || anyone,
                      occupancy_.subscriptions(app, channel), members};
}

void EmbeddedEngine::channel_stats(core::AppIndex app, std::vector<std::string> channels,
                                   StatsCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<ChannelStats> stats;
  stats.reserve(channels.size());
  for (const auto& channel : channels) stats.push_back(stats_locked(app, channel));
  done(std::move(stats));
}

void EmbeddedEngine::list_channels(core::AppIndex app, std::string prefix, ListingCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<ChannelListing> listing;
  occupancy_.for_each_occupied(app, prefix, [&](const std::string& name, std::uint32_t) {
    listing.push_back(ChannelListing{name, stats_locked(app, name)});
  });
  // Presence channels held only by heartbeats have members but no subscription.
  book_.for_each_channel(app, prefix, [&](const std::string& name) {
    if (!occupancy_.occupied(app, name)) {
      listing.push_back(ChannelListing{name, stats_locked(app, name)});
    }
  });
  done(std::move(listing));
}

void EmbeddedEngine::channel_users(core::AppIndex app, std::string channel, UsersCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> users;
  users.reserve(book_.member_count(app, channel));
  book_.for_each_member(app, channel, [&](const std::string& id, const std::string&) {
    if (visible(app, id)) users.push_back(id);
  });
  done(std::move(users));
}

void EmbeddedEngine::tick(core::Millis now) {
  std::lock_guard lock(mutex_);
  std::vector<core::PresenceEvent> removed;
  book_.advance(now, removed);
  for (const auto& event : removed) publish_removal(event);
  std::vector<std::pair<core::AppIndex, std::string>> vacated_channels;
  occupancy_.advance(now, vacated_channels);
  for (const auto& [app, channel] : vacated_channels) vacated(app, channel);
}

const pusher::PresenceSnapshot& EmbeddedEngine::snapshot(core::AppIndex app,
                                                         const std::string& channel,
                                                         const std::string* new_member,
                                                         const std::string* new_info) {
  auto [it, created] = snapshots_.try_emplace(snapshot_key(app, channel));
  pusher::PresenceSnapshot& cached = it->second;
  // Invisible members are left out; each gets themself added to their own copy.
  if (created) {
    book_.for_each_member(app, channel, [&](const std::string& id, const std::string& info) {
      if (visible(app, id)) cached.add(id, info);
    });
  } else if (new_member && visible(app, *new_member)) {
    cached.add(*new_member, *new_info);
  }
  return cached;
}

void EmbeddedEngine::occupied(core::AppIndex app, std::string_view channel) {
  channel_webhook(app, webhooks::EventType::ChannelOccupied, channel);
}

void EmbeddedEngine::vacated(core::AppIndex app, std::string_view channel) {
  channel_webhook(app, webhooks::EventType::ChannelVacated, channel);
}

// The event JSON is only built when a target of the app wants it.
void EmbeddedEngine::channel_webhook(core::AppIndex app, webhooks::EventType type,
                                     std::string_view channel) {
  if (webhooks_.wants(app, type))
    webhooks_.emit(app, type, webhooks::channel_event_json(type, channel));
}

void EmbeddedEngine::member_webhook(core::AppIndex app, webhooks::EventType type,
                                    std::string_view channel, std::string_view user_id) {
  if (webhooks_.wants(app, type)) {
    webhooks_.emit(app, type, webhooks::member_event_json(type, channel, user_id));
  }
}

void EmbeddedEngine::publish_removal(const core::PresenceEvent& event) {
  snapshots_.erase(snapshot_key(event.app, event.channel));
  if (!online(event.app, event.user_id)) {
    // The user's last membership anywhere ended when their last session did: that is when
    // they were last seen, on the wall clock.
    went_offline(event.app, event.user_id, wall_clock_() - (clock_() - event.left_at));
  }
  member_webhook(event.app, webhooks::EventType::MemberRemoved, event.channel, event.user_id);
  // Others never saw an invisible member arrive, so they are not told it left.
  if (!visible(event.app, event.user_id)) return;
  broker_.publish(
      ChannelMessage{event.app,
                     event.channel,
                     make_text_frame(pusher::member_removed(event.channel, event.user_id)),
                     {},
                     {}});
}

}  // namespace greendot::engine
