#include "api/presence_queries.hpp"

#include <boost/json.hpp>

#include <chrono>

#include "api/presence_fields.hpp"
#include "storage/last_seen_text.hpp"
#include "storage/privacy_names.hpp"

namespace greendot::api {

namespace json = boost::json;

namespace {

RestResponse ok(const json::value& value) {
  return {200, json::serialize(value), {}};
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* status_name(engine::UserStatus status) {
  return status == engine::UserStatus::Away ? "away" : "online";
}

json::value optional_ms(const std::optional<std::int64_t>& ms) {
  return ms ? json::value(*ms) : json::value(nullptr);
}

// One user as others may see them: invisible users are offline with the last seen they had
// before, and last seen is exact, approximate ("recently", ...) or hidden as they chose.
json::object render_user(const engine::UserPresence& user, bool apply_privacy) {
  if (!apply_privacy) {
    json::object truth{
        {"online", user.online},
        {"last_seen", optional_ms(user.last_seen_ms)},
        {"privacy", json::object{{"visibility", storage::visibility_name(user.privacy.visibility)},
                                 {"last_seen", storage::last_seen_name(user.privacy.last_seen)}}}};
    if (user.online) truth["status"] = status_name(user.status);
    return truth;
  }
  const bool invisible = user.privacy.visibility == storage::Visibility::Nobody;
  const bool online = user.online && !invisible;
  const auto last_seen = invisible ? user.recorded_last_seen_ms : user.last_seen_ms;
  json::object out{{"online", online}, {"last_seen", nullptr}};
  if (online) out["status"] = status_name(user.status);
  switch (user.privacy.last_seen) {
    case storage::LastSeenPrivacy::Exact:
      out["last_seen"] = optional_ms(last_seen);
      break;
    case storage::LastSeenPrivacy::Approximate:
      if (last_seen)
        out["last_seen_approx"] = storage::approximate_last_seen(*last_seen, unix_ms());
      break;
    case storage::LastSeenPrivacy::Hidden:
      break;
  }
  return out;
}

const char* answer_name(engine::HeartbeatAnswer answer) {
  switch (answer) {
    case engine::HeartbeatAnswer::Present:
      return "present";
    case engine::HeartbeatAnswer::Full:
      return "full";
    case engine::HeartbeatAnswer::TabEnded:
      return "ended";
    case engine::HeartbeatAnswer::Unavailable:
      return "unavailable";
  }
  return "present";
}

}  // namespace

void heartbeat(server::ServerContext& context, core::AppIndex app, HeartbeatCall call,
               Respond respond) {
  const auto& config = context.apps.app(app);
  engine::HeartbeatRequest request{app,
                                   call.status,
                                   std::move(call.tab),
                                   call.channels,
                                   std::move(call.user_id),
                                   std::move(call.user_info),
                                   config.heartbeat_ttl_ms,
                                   config.offline_grace_ms,
                                   config.max_presence_members};
  context.engine.heartbeat(
      std::move(request),
      [channels = std::move(call.channels), ttl = config.heartbeat_ttl_ms,
       respond = std::move(respond)](std::vector<engine::HeartbeatAnswer> answers) {
        // Nothing was recorded: a retryable error, not an answer about the contexts.
        if (std::find(answers.begin(), answers.end(), engine::HeartbeatAnswer::Unavailable) !=
            answers.end()) {
          return respond(rest_error(503, "Presence is unavailable right now; ping again shortly"));
        }
        json::object contexts;
        for (std::size_t i = 0; i < channels.size(); ++i) {
          contexts[context_of(channels[i])] = answer_name(answers[i]);
        }
        respond(ok(json::object{{"contexts", std::move(contexts)}, {"ttl_ms", ttl}}));
      });
}

engine::HeartbeatOffline offline_of(const config::AppConfig& config, core::AppIndex app,
                                    std::string user_id, std::string channel, std::string tab) {
  engine::HeartbeatOffline offline{app,          std::move(user_id),      std::move(channel),
                                   std::nullopt, config.offline_grace_ms, config.heartbeat_ttl_ms};
  if (!tab.empty()) offline.tab = std::move(tab);
  return offline;
}

void users_presence(server::ServerContext& context, core::AppIndex app,
                    std::vector<std::string> ids, std::string viewer, bool apply_privacy,
                    Respond respond) {
  context.engine.users_presence(
      app, ids,
      [ids, viewer = std::move(viewer), apply_privacy,
       respond = std::move(respond)](engine::Answer<std::vector<engine::UserPresence>> users) {
        if (!users) return respond(engine_unavailable());
        json::object out;
        for (std::size_t i = 0; i < ids.size(); ++i) {
          // A user always sees the truth about themself.
          out[ids[i]] = render_user((*users)[i], apply_privacy && ids[i] != viewer);
        }
        respond(ok(json::object{{"users", std::move(out)}}));
      });
}

}  // namespace greendot::api
