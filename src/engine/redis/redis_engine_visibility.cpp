// Invisible users across nodes. The user's record says who is invisible (the truth, changed by
// the privacy script); each app's set of invisible users, small, is kept in Redis beside it and
// by every node, loaded at registration and kept from the app's privacy channel, so that a
// node marks a join or a ping of an invisible user as hidden without asking. In a channel a
// hidden member is in the hidden set: counted and listed to no one but themself, told to no
// one (the scripts tell 'h' where they would tell 'a'). A node that did not know yet is
// corrected by the user's record at the membership's second step (set_visibility).
#include <spdlog/spdlog.h>

#include "engine/redis/redis_engine.hpp"
#include "engine/redis/reply_fields.hpp"

namespace greendot::engine::redis_engine {

using redis::Reply;
using redis::Result;

bool RedisEngine::invisible(core::AppIndex app, const std::string& user) const {
  return invisible_[app].contains(user);
}

void RedisEngine::load_invisible() {
  for (core::AppIndex app = 0; app < app_ids_.size(); ++app) {
    const std::string key = keys_.app_invisible(app_ids_[app]);
    const std::string_view args[] = {"SMEMBERS", key};
    invisible_[app].load_sent();
    client_->command(key, args, [this, app](Result result) {
      const Reply* reply = reply_of(result);
      if (!reply) return invisible_[app].load_failed();  // read again at the next registration
      std::unordered_set<std::string> users;
      for (const auto& user : reply->elements) users.insert(user.text);
      invisible_[app].loaded(std::move(users));
    });
  }
}

// "h <user>" (went invisible) or "s <user>" (visible again), from whichever node changed it.
void RedisEngine::on_privacy_message(core::AppIndex app, std::string_view payload) {
  if (payload.size() < 3 || payload[1] != ' ') return;
  const std::string user(payload.substr(2));
  if (payload[0] == 'h' || payload[0] == 's') invisible_[app].changed(user, payload[0] == 'h');
}

// After the privacy script changed the user's visibility: every node learns it, and the user
// is hidden in (or shown again to) every channel they are a member of.
void RedisEngine::visibility_changed(core::AppIndex app, const std::string& user,
                                     bool now_invisible, std::vector<std::string> tags) {
  invisible_[app].changed(user, now_invisible);
  const std::string set = keys_.app_invisible(app_ids_[app]);
  const std::string_view change[] = {now_invisible ? "SADD" : "SREM", set, user};
  client_->command(set, change, [](Result) {});
  const std::string channel = keys_.app_privacy(app_ids_[app]);
  std::string message = now_invisible ? "h " : "s ";
  message.append(user);
  const std::string_view publish[] = {publish_command(), channel, message};
  client_->command(channel, publish, [](Result) {});
  for (const auto& tag : tags) {
    std::string_view app_id, name;
    if (split_tag(tag, app_id, name) && app_id == app_ids_[app] && !internal_channel(name)) {
      set_visibility(app, tag, user, now_invisible);
    }
  }
}

void RedisEngine::set_visibility(core::AppIndex app, const std::string& tag,
                                 const std::string& user, bool hide, int attempts) {
  ChannelKeys keys = keys_.channel_of_tag(tag, node_);
  std::vector<std::string> args{user, hide ? "h" : "s", std::string(publish_command()), keys.events,
                                epoch_candidate()};
  run_script(visibility_script(), {keys.keys.begin(), keys.keys.end()}, std::move(args),
             [this, app, tag, user, hide, attempts](Result result) {
               if (reply_of(result)) return;
               // Idempotent: tried again at once while connected, else at the next lease
               // refresh (then as the user is by then: a later change may have come).
               spdlog::debug("visibility of {} in {} not changed: {}", user, tag, why(result));
               if (retry_at_once(attempts)) {
                 return set_visibility(app, tag, user, hide, attempts - 1);
               }
               visibilities_to_retry_.push_back(VisibilityToRetry{app, tag, user});
             });
}

void RedisEngine::retry_visibilities() {
  auto retries = std::move(visibilities_to_retry_);
  visibilities_to_retry_.clear();
  for (auto& retry : retries) {
    set_visibility(retry.app, retry.tag, retry.user, invisible(retry.app, retry.user));
  }
}

}  // namespace greendot::engine::redis_engine
