#include "server/presence_api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

#include "core/channel_name.hpp"
#include "protocol/pusher_messages.hpp"
#include "protocol/user_token.hpp"
#include "storage/last_seen_text.hpp"

namespace greendot::server {

namespace json = boost::json;
using Respond = std::function<void(RestResponse)>;

namespace {

constexpr std::size_t kMaxContextsPerHeartbeat = 100;
constexpr std::size_t kMaxUsersPerQuery = 1000;
constexpr std::string_view kDefaultContext = "global";
constexpr std::string_view kPresencePrefix = "presence-";

RestResponse ok(const json::value& value) {
  return {200, json::serialize(value), {}};
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request body as a JSON object; an empty body is an empty object.
std::variant<json::object, RestResponse> body_object(const std::string& body) {
  if (body.empty()) return json::object{};
  std::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return rest_error(400, "Invalid JSON body: " + ec.message());
  if (!value.is_object()) return rest_error(400, "The body must be a JSON object");
  return std::move(value.get_object());
}

// A context is the presence channel presence-{context}; it follows the channel-name rules.
std::variant<std::string, RestResponse> context_channel(const json::value& context) {
  if (!context.is_string()) return rest_error(400, "Contexts are strings, e.g. \"chat.42\"");
  std::string channel = std::string(kPresencePrefix) + std::string(context.get_string());
  if (context.get_string().empty() ||
      core::classify_channel(channel) != core::ChannelKind::Presence) {
    return rest_error(400, "Invalid context \"" + std::string(context.get_string()) +
                               "\": 1 to 155 characters from [A-Za-z0-9_-=@,.;]");
  }
  return channel;
}

// The channels of "contexts" (an array) or "context" (one), "global" when neither is given.
std::variant<std::vector<std::string>, RestResponse> contexts_of(const json::object& body) {
  std::vector<std::string> channels;
  if (const json::value* many = body.if_contains("contexts")) {
    if (!many->is_array() || many->get_array().empty()) {
      return rest_error(400, "\"contexts\" must be a non-empty array of strings");
    }
    if (many->get_array().size() > kMaxContextsPerHeartbeat) {
      return rest_error(400, "At most 100 contexts per heartbeat");
    }
    for (const auto& c : many->get_array()) {
      auto channel = context_channel(c);
      if (auto* refusal = std::get_if<RestResponse>(&channel)) return *refusal;
      channels.push_back(std::move(std::get<std::string>(channel)));
    }
  } else if (const json::value* one = body.if_contains("context")) {
    auto channel = context_channel(*one);
    if (auto* refusal = std::get_if<RestResponse>(&channel)) return *refusal;
    channels.push_back(std::move(std::get<std::string>(channel)));
  } else {
    channels.push_back(std::string(kPresencePrefix) + std::string(kDefaultContext));
  }
  return channels;
}

std::string_view context_of(std::string_view channel) {
  return channel.substr(kPresencePrefix.size());
}

// "status": "online" | "away", optional.
std::variant<std::optional<engine::UserStatus>, RestResponse> status_field(
    const json::object& body) {
  const json::value* status = body.if_contains("status");
  if (!status || status->is_null()) return std::optional<engine::UserStatus>{};
  if (status->is_string() && status->get_string() == "online") {
    return std::optional<engine::UserStatus>{engine::UserStatus::Online};
  }
  if (status->is_string() && status->get_string() == "away") {
    return std::optional<engine::UserStatus>{engine::UserStatus::Away};
  }
  return rest_error(400, "\"status\" must be \"online\" or \"away\"");
}

void heartbeat(ServerContext& context, core::AppIndex app, std::string user_id,
               std::string user_info, std::vector<std::string> channels,
               std::optional<engine::UserStatus> status, Respond respond) {
  const auto& config = context.apps.app(app);
  engine::HeartbeatRequest request{app,
                                   status,
                                   channels,
                                   std::move(user_id),
                                   std::move(user_info),
                                   config.heartbeat_ttl_ms,
                                   config.offline_grace_ms,
                                   config.max_presence_members};
  context.engine.heartbeat(
      std::move(request), [channels, ttl = config.heartbeat_ttl_ms,
                           respond = std::move(respond)](std::vector<bool> accepted) {
        json::object contexts;
        for (std::size_t i = 0; i < channels.size(); ++i) {
          contexts[context_of(channels[i])] = accepted[i] ? "present" : "full";
        }
        respond(ok(json::object{{"contexts", std::move(contexts)}, {"ttl_ms", ttl}}));
      });
}

const char* visibility_name(storage::Visibility v) {
  return v == storage::Visibility::Nobody ? "nobody" : "everyone";
}

const char* last_seen_name(storage::LastSeenPrivacy p) {
  switch (p) {
    case storage::LastSeenPrivacy::Approximate:
      return "approximate";
    case storage::LastSeenPrivacy::Hidden:
      return "hidden";
    default:
      return "exact";
  }
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
        {"privacy", json::object{{"visibility", visibility_name(user.privacy.visibility)},
                                 {"last_seen", last_seen_name(user.privacy.last_seen)}}}};
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

void users_presence(ServerContext& context, core::AppIndex app, std::vector<std::string> ids,
                    std::string viewer, bool apply_privacy, Respond respond) {
  context.engine.users_presence(
      app, ids,
      [ids, viewer = std::move(viewer), apply_privacy,
       respond = std::move(respond)](std::vector<engine::UserPresence> users) {
        json::object out;
        for (std::size_t i = 0; i < ids.size(); ++i) {
          // A user always sees the truth about themself.
          out[ids[i]] = render_user(users[i], apply_privacy && ids[i] != viewer);
        }
        respond(ok(json::object{{"users", std::move(out)}}));
      });
}

std::variant<std::string, RestResponse> user_id_field(const json::object& body,
                                                      const config::AppConfig& config) {
  const json::value* id = body.if_contains("user_id");
  auto user = id ? protocol::pusher::user_id_from_json(*id) : std::nullopt;
  if (!user || !core::valid_user_id(*user, config.max_user_id_length)) {
    return rest_error(400, "\"user_id\" must be a string or integer of 1 to " +
                               std::to_string(config.max_user_id_length) +
                               " characters from [A-Za-z0-9_-=@,.;]");
  }
  return *user;
}

std::variant<std::string, RestResponse> user_info_field(const json::object& body,
                                                        const config::AppConfig& config) {
  const json::value* info = body.if_contains("user_info");
  if (!info || info->is_null()) return std::string("null");
  if (!info->is_object()) return rest_error(400, "\"user_info\" must be an object");
  std::string text = json::serialize(*info);
  if (text.size() > config.max_user_info_bytes) {
    return rest_error(413, "\"user_info\" is " + std::to_string(text.size()) +
                               " bytes; the limit is " +
                               std::to_string(config.max_user_info_bytes));
  }
  return text;
}

template <class T>
const RestResponse* refusal_of(const std::variant<T, RestResponse>& v) {
  return std::get_if<RestResponse>(&v);
}

void set_privacy(ServerContext& context, core::AppIndex app, std::string user,
                 const json::object& body, Respond respond) {
  engine::PrivacyChange change;
  if (const json::value* v = body.if_contains("visibility")) {
    if (v->is_string() && v->get_string() == "everyone") {
      change.visibility = storage::Visibility::Everyone;
    } else if (v->is_string() && v->get_string() == "nobody") {
      change.visibility = storage::Visibility::Nobody;
    } else {
      return respond(rest_error(400, "\"visibility\" must be \"everyone\" or \"nobody\""));
    }
  }
  if (const json::value* v = body.if_contains("last_seen")) {
    if (v->is_string() && v->get_string() == "exact") {
      change.last_seen = storage::LastSeenPrivacy::Exact;
    } else if (v->is_string() && v->get_string() == "approximate") {
      change.last_seen = storage::LastSeenPrivacy::Approximate;
    } else if (v->is_string() && v->get_string() == "hidden") {
      change.last_seen = storage::LastSeenPrivacy::Hidden;
    } else {
      return respond(
          rest_error(400, "\"last_seen\" must be \"exact\", \"approximate\" or \"hidden\""));
    }
  }
  // Fields left out keep their current value.
  context.engine.update_privacy(
      app, std::move(user), change, [respond = std::move(respond)](storage::Privacy privacy) {
        respond(ok(json::object{{"visibility", visibility_name(privacy.visibility)},
                                {"last_seen", last_seen_name(privacy.last_seen)}}));
      });
}

// CORS: pages of the app's allowed origins may call the client endpoints. A request without
// an Origin header is not cross-origin (or not from a browser) and needs nothing.
bool origin_allowed(const config::AppConfig& config, const std::string& origin) {
  if (origin.empty()) return true;
  return std::any_of(
      config.allowed_origins.begin(), config.allowed_origins.end(),
      [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

std::string bearer_token(const RestRequest& request) {
  constexpr std::string_view kBearer = "Bearer ";
  if (std::string_view(request.authorization).starts_with(kBearer)) {
    return request.authorization.substr(kBearer.size());
  }
  for (const auto& [key, value] : request.query) {
    if (key == "token") return value;
  }
  return {};
}

std::vector<std::string> split_ids(std::string_view text) {
  std::vector<std::string> ids;
  while (!text.empty()) {
    auto comma = text.find(',');
    if (comma != 0) ids.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return ids;
}

// "users/{user}/privacy" with a non-empty user.
bool is_privacy_path(std::string_view rest) {
  constexpr std::string_view kUsers = "users/";
  constexpr std::string_view kPrivacy = "/privacy";
  return rest.size() > kUsers.size() + kPrivacy.size() && rest.starts_with(kUsers) &&
         rest.ends_with(kPrivacy);
}

}  // namespace

bool is_signed_presence_path(std::string_view rest) {
  return rest == "presence/heartbeat" || rest == "presence/offline" || rest == "users/presence" ||
         is_privacy_path(rest);
}

void handle_signed_presence(ServerContext& context, core::AppIndex app, const RestRequest& request,
                            std::string_view rest, Respond respond) {
  const auto& config = context.apps.app(app);
  const bool is_privacy = is_privacy_path(rest);
  const bool method_allowed =
      is_privacy ? request.method == "GET" || request.method == "PUT" : request.method == "POST";
  if (!method_allowed) {
    return respond(rest_error(
        405, is_privacy ? "Use GET or PUT for " + request.path : "Use POST for " + request.path));
  }
  auto body = body_object(request.body);
  if (auto* refusal = refusal_of(body)) return respond(*refusal);
  const auto& o = std::get<json::object>(body);

  if (is_privacy) {
    std::string user(rest.substr(6, rest.size() - 6 - 8));
    if (!core::valid_user_id(user, config.max_user_id_length)) {
      return respond(rest_error(400, "Invalid user id \"" + user + "\""));
    }
    if (request.method == "GET") {
      return users_presence(context, app, {user}, {}, false,
                            [user, respond = std::move(respond)](RestResponse r) {
                              // {"users":{id:{...,"privacy":{...}}}} → the privacy object.
                              auto all = json::parse(r.body);
                              respond(ok(all.at("users").at(user).at("privacy")));
                            });
    }
    return set_privacy(context, app, std::move(user), o, std::move(respond));
  }

  if (rest == "users/presence") {
    const json::value* users = o.if_contains("users");
    if (!users || !users->is_array()) {
      return respond(rest_error(400, "\"users\" must be an array of user ids"));
    }
    if (users->get_array().size() > kMaxUsersPerQuery) {
      return respond(rest_error(400, "At most 1000 users per request"));
    }
    std::vector<std::string> ids;
    for (const auto& u : users->get_array()) {
      auto id = protocol::pusher::user_id_from_json(u);
      if (!id || !core::valid_user_id(*id, config.max_user_id_length)) {
        return respond(rest_error(400, "\"users\" holds an invalid user id"));
      }
      ids.push_back(std::move(*id));
    }
    const json::value* unfiltered = o.if_contains("unfiltered");
    if (unfiltered && !unfiltered->is_bool()) {
      return respond(rest_error(400, "\"unfiltered\" must be true or false"));
    }
    const bool apply_privacy = !(unfiltered && unfiltered->get_bool());
    return users_presence(context, app, std::move(ids), {}, apply_privacy, std::move(respond));
  }

  auto user = user_id_field(o, config);
  if (auto* refusal = refusal_of(user)) return respond(*refusal);
  if (rest == "presence/offline") {
    std::string channel;
    if (const json::value* c = o.if_contains("context")) {
      auto resolved = context_channel(*c);
      if (auto* refusal = refusal_of(resolved)) return respond(*refusal);
      channel = std::get<std::string>(resolved);
    }
    context.engine.heartbeat_offline(app, std::get<std::string>(user), channel,
                                     config.offline_grace_ms);
    return respond(ok(json::object{}));
  }
  auto info = user_info_field(o, config);
  if (auto* refusal = refusal_of(info)) return respond(*refusal);
  auto channels = contexts_of(o);
  if (auto* refusal = refusal_of(channels)) return respond(*refusal);
  auto status = status_field(o);
  if (auto* refusal = refusal_of(status)) return respond(*refusal);
  heartbeat(context, app, std::move(std::get<std::string>(user)),
            std::move(std::get<std::string>(info)),
            std::move(std::get<std::vector<std::string>>(channels)),
            std::get<std::optional<engine::UserStatus>>(status), std::move(respond));
}

void handle_client(ServerContext& context, core::AppIndex app, const RestRequest& request,
                   std::string_view rest, Respond respond) {
  const auto& config = context.apps.app(app);
  if (!origin_allowed(config, request.origin)) {
    return respond(
        rest_error(403, "Origin " + request.origin + " is not in this app's allowed_origins"));
  }
  // Every answer carries the CORS headers, errors included, so that pages can read them.
  auto with_cors = [origin = request.origin, respond = std::move(respond)](RestResponse r) {
    if (!origin.empty()) {
      r.headers.emplace_back("Access-Control-Allow-Origin", origin);
      r.headers.emplace_back("Vary", "Origin");
    }
    respond(std::move(r));
  };
  if (request.method == "OPTIONS") {
    RestResponse preflight{204, {}, {}};
    preflight.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                         {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                         {"Access-Control-Max-Age", "600"}};
    return with_cors(std::move(preflight));
  }

  const bool is_offline = rest == "offline";
  if (rest != "ping" && !is_offline && rest != "users") {
    return with_cors(rest_error(404, "No such endpoint: " + request.method + " " + request.path));
  }
  const std::string_view wanted = rest == "users" ? "GET" : "POST";
  if (request.method != wanted) {
    return with_cors(rest_error(405, "Use " + std::string(wanted) + " for " + request.path));
  }

  // sendBeacon cannot set headers and sends text/plain: the token may come as the whole body
  // or as {"token": ...} in it.
  std::string token = bearer_token(request);
  json::object body;
  const bool body_is_token = request.body.find('{') == std::string::npos && !request.body.empty();
  if (token.empty() && body_is_token) {
    token = request.body;
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
  } else if (rest != "users") {
    auto parsed = body_object(request.body);
    if (auto* refusal = refusal_of(parsed)) return with_cors(*refusal);
    body = std::move(std::get<json::object>(parsed));
    if (const json::value* t = body.if_contains("token"); t && token.empty()) {
      if (!t->is_string()) return with_cors(rest_error(400, "\"token\" must be a string"));
      token = std::string(t->get_string());
    }
  }
  if (token.empty()) {
    return with_cors(rest_error(401, "A user token is needed: Authorization: Bearer <token>"));
  }
  auto verified = protocol::verify_user_token(token, config.secret, unix_ms() / 1000,
                                              config.max_user_id_length);
  if (auto* problem = std::get_if<protocol::TokenProblem>(&verified)) {
    return with_cors(rest_error(401, problem->message));
  }
  auto& user = std::get<protocol::UserToken>(verified);

  if (rest == "users") {
    std::vector<std::string> ids;
    for (const auto& [key, value] : request.query) {
      if (key == "ids") ids = split_ids(value);
    }
    if (ids.empty()) return with_cors(rest_error(400, "Give the users as ?ids=1,2,3"));
    if (ids.size() > kMaxUsersPerQuery) {
      return with_cors(rest_error(400, "At most 1000 users per request"));
    }
    for (const auto& id : ids) {
      if (!core::valid_user_id(id, config.max_user_id_length)) {
        return with_cors(rest_error(400, "Invalid user id \"" + id + "\""));
      }
    }
    return users_presence(context, app, std::move(ids), user.user_id, true, std::move(with_cors));
  }
  if (user.user_info.size() > config.max_user_info_bytes) {
    return with_cors(rest_error(413, "The token's user_info is larger than " +
                                         std::to_string(config.max_user_info_bytes) + " bytes"));
  }
  if (is_offline) {
    std::string channel;
    if (const json::value* c = body.if_contains("context")) {
      auto resolved = context_channel(*c);
      if (auto* refusal = refusal_of(resolved)) return with_cors(*refusal);
      channel = std::get<std::string>(resolved);
    }
    context.engine.heartbeat_offline(app, user.user_id, channel, config.offline_grace_ms);
    return with_cors(ok(json::object{}));
  }
  auto channels = contexts_of(body);
  if (auto* refusal = refusal_of(channels)) return with_cors(*refusal);
  auto status = status_field(body);
  if (auto* refusal = refusal_of(status)) return with_cors(*refusal);
  heartbeat(context, app, std::move(user.user_id), std::move(user.user_info),
            std::move(std::get<std::vector<std::string>>(channels)),
            std::get<std::optional<engine::UserStatus>>(status), std::move(with_cors));
}

}  // namespace greendot::server
