// The embedded engine: presence of one node, in memory, behind one mutex.
// Critical sections are short (hash lookups, and the snapshot for a joiner) and fan-out
// happens outside on the event-loop threads, so one lock serves both cores.
#pragma once

#include <functional>
#include <mutex>
#include <unordered_map>

#include "core/channel_occupancy.hpp"
#include "core/ended_tabs.hpp"
#include "core/presence_book.hpp"
#include "core/signin_book.hpp"
#include "engine/broker.hpp"
#include "engine/presence_engine.hpp"
#include "protocol/pusher_messages.hpp"
#include "webhooks/webhook_sink.hpp"

namespace greendot::engine {

class EmbeddedEngine final : public PresenceEngine {
 public:
  using Clock = std::function<core::Millis()>;
  // `clock` is monotonic (the core's time); `wall_clock` gives unix ms, for last seen.
  // `app_ids` names the apps in index order, as the user store knows them.
  EmbeddedEngine(Broker& broker, webhooks::WebhookSink& webhooks, storage::UserStore& users,
                 std::vector<std::string> app_ids, Clock clock, Clock wall_clock)
      : broker_(broker),
        webhooks_(webhooks),
        users_(users),
        app_ids_(std::move(app_ids)),
        clock_(std::move(clock)),
        wall_clock_(std::move(wall_clock)) {}

  void join(JoinRequest request, JoinCallback done) override;
  void leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
             core::SessionId session, core::Millis grace_ms) override;
  void subscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                  std::function<void()> in_place) override;
  void unsubscribed(core::AppIndex app, std::string_view channel, core::SessionId session,
                    core::Millis grace_ms) override;
  void channel_stats(core::AppIndex app, std::vector<std::string> channels,
                     StatsCallback done) override;
  void list_channels(core::AppIndex app, std::string prefix, ListingCallback done) override;
  void channel_users(core::AppIndex app, std::string channel, UsersCallback done) override;
  void heartbeat(HeartbeatRequest request, HeartbeatCallback done) override;
  void heartbeat_offline(HeartbeatOffline offline, std::function<void()> done) override;
  void users_presence(core::AppIndex app, std::vector<std::string> user_ids,
                      UserPresenceCallback done) override;
  void update_privacy(core::AppIndex app, std::string user_id, PrivacyChange change,
                      std::function<void(Answer<storage::Privacy>)> done) override;
  void set_status(core::AppIndex app, std::string user_id, core::SessionId session,
                  UserStatus status) override;
  void signed_in(core::AppIndex app, std::string user_id, core::SessionId session) override;
  void signed_out(core::AppIndex app, std::string user_id, core::SessionId session,
                  core::Millis grace_ms) override;
  void watch(core::AppIndex app, std::string watcher, std::vector<std::string> watched,
             OnlineCallback done) override;
  void unwatch(core::AppIndex app, std::string watcher, std::vector<std::string> watched) override;
  void tick(core::Millis now) override;
  void shut_down() override;

 private:
  // The status each session reported, for users with an away session or who are away.
  struct StatusBook {
    std::vector<std::string> away_sessions;  // session keys (see session_key)
    bool away = false;                       // what the others were last told
  };
  void publish_removal(const core::PresenceEvent& event);
  bool visible(core::AppIndex app, const std::string& user_id) const;
  // Online: a member of some presence channel, or signed in on some connection.
  bool online(core::AppIndex app, const std::string& user_id) const;
  void came_online(core::AppIndex app, const std::string& user_id);
  void went_offline(core::AppIndex app, const std::string& user_id, std::int64_t at_wall_ms);
  void tell_watchers(core::AppIndex app, const std::string& user_id, std::string_view event);
  void set_session_status(core::AppIndex app, const std::string& user_id,
                          const std::string& session, UserStatus status);
  // Recomputes the user's status from their live sessions and tells the others when it changed.
  void refresh_status(core::AppIndex app, const std::string& user_id);
  std::vector<std::string> live_sessions(core::AppIndex app, const std::string& user_id) const;
  void signed_out_for_good(const core::SignedOut& signed_out);
  void publish_addition(core::AppIndex app, const std::string& channel, const std::string& user_id,
                        const std::string& user_info, protocol::SocketId except);
  // A member back inside their grace: only the joiners who were not given them hear of it.
  void publish_return(core::AppIndex app, const std::string& channel, const std::string& user_id,
                      const std::string& user_info, protocol::SocketId except,
                      std::uint64_t unseen_after);
  const protocol::pusher::PresenceSnapshot& snapshot(core::AppIndex app, const std::string& channel,
                                                     const std::string* new_member,
                                                     const std::string* new_info);
  void occupied(core::AppIndex app, std::string_view channel);
  void vacated(core::AppIndex app, std::string_view channel);
  ChannelStats stats_locked(core::AppIndex app, std::string_view channel) const;

  Broker& broker_;
  webhooks::WebhookSink& webhooks_;
  storage::UserStore& users_;
  std::vector<std::string> app_ids_;
  Clock clock_;
  Clock wall_clock_;
  std::mutex mutex_;
  core::PresenceBook book_;
  core::ChannelOccupancy occupancy_;
  // The subscription_succeeded payload of each presence channel, appended to on every new
  // member and rebuilt by the next joiner after any other change to the list (see
  // PresenceBook::list_changes).
  struct CachedList {
    protocol::pusher::PresenceSnapshot list;
    std::uint64_t list_changes = 0;  // the book's count when it was built
  };
  std::unordered_map<std::string, CachedList> snapshots_;
  // Users with a session that said it is away, keyed by app and user; a user without an entry
  // is online.
  std::unordered_map<std::string, StatusBook> statuses_;
  core::SigninBook signins_;
  core::EndedTabs ended_tabs_;
  // Who watches whom (watcher -> number of watches), keyed by app and user.
  std::unordered_map<std::string, std::unordered_map<std::string, std::uint32_t>> watchers_;
  bool shut_down_ = false;  // after shut_down() every call is ignored
};

}  // namespace greendot::engine
