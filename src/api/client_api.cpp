#include "api/client_api.hpp"

#include <boost/json.hpp>

#include "api/presence_fields.hpp"
#include "api/presence_queries.hpp"
#include "auth/page_token.hpp"
#include "core/channel_name.hpp"

namespace greendot::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxUsersPerQuery = 1000;

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

std::string_view query_value(const RestRequest& request, std::string_view key) {
  for (const auto& [k, v] : request.query) {
    if (k == key) return v;
  }
  return {};
}

// The 403 for a context the token was not made for, or nothing.
std::optional<RestResponse> scope_refusal(const protocol::UserToken& user,
                                          std::string_view channel) {
  const std::string_view context = context_of(channel);
  if (auth::token_opens(user, context)) return std::nullopt;
  return rest_error(403, "The token does not open the context \"" + std::string(context) +
                             "\": list it (or a prefix such as \"chat.*\") in the token's "
                             "contexts claim");
}

// The JSON body of a ping or an offline. An offline's body may be the token itself (sendBeacon
// sends text/plain), which holds no fields.
Field<json::object> fields_of(const RestRequest& request) {
  std::string_view body = request.body;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) {
    body.remove_prefix(1);
  }
  if (!body.empty() && body.front() != '{') return json::object{};
  return body_object(request.body);
}

}  // namespace

void client_ping(ApiCall& call, Respond respond) {
  auto body = body_object(call.request.body);
  if (auto* refusal = refusal_of(body)) return respond(*refusal);
  const auto& o = std::get<json::object>(body);
  auto channels = contexts_of(o);
  if (auto* refusal = refusal_of(channels)) return respond(*refusal);
  auto status = status_field(o);
  if (auto* refusal = refusal_of(status)) return respond(*refusal);
  auto tab = tab_field(o, query_value(call.request, "tab"));
  if (auto* refusal = refusal_of(tab)) return respond(*refusal);
  for (const auto& channel : std::get<std::vector<std::string>>(channels)) {
    if (auto refusal = scope_refusal(*call.user, channel)) return respond(*refusal);
  }
  heartbeat(call.context, call.app,
            HeartbeatCall{call.user->user_id, call.user->user_info,
                          std::move(std::get<std::vector<std::string>>(channels)),
                          std::get<std::optional<engine::UserStatus>>(status),
                          std::move(std::get<std::string>(tab))},
            std::move(respond));
}

void client_offline(ApiCall& call, Respond respond) {
  auto body = fields_of(call.request);
  if (auto* refusal = refusal_of(body)) return respond(*refusal);
  const auto& o = std::get<json::object>(body);
  auto context = optional_context(o);
  if (auto* refusal = refusal_of(context)) return respond(*refusal);
  auto tab = tab_field(o, query_value(call.request, "tab"));
  if (auto* refusal = refusal_of(tab)) return respond(*refusal);
  std::string channel = std::move(std::get<std::string>(context));
  // Without a context the user's own heartbeats end everywhere: a token can only end its
  // own user's sessions, so that needs no scope.
  if (!channel.empty()) {
    if (auto refusal = scope_refusal(*call.user, channel)) return respond(*refusal);
  }
  call.context.engine.heartbeat_offline(
      offline_of(*call.config, call.app, call.user->user_id, std::move(channel),
                 std::move(std::get<std::string>(tab))),
      [respond = std::move(respond)] {
        respond({200, "{}", {}});
      });
}

void client_users(ApiCall& call, Respond respond) {
  std::vector<std::string> ids = split_ids(query_value(call.request, "ids"));
  if (ids.empty()) return respond(rest_error(400, "Give the users as ?ids=1,2,3"));
  if (ids.size() > kMaxUsersPerQuery) {
    return respond(rest_error(400, "At most 1000 users per request"));
  }
  for (const auto& id : ids) {
    if (!core::valid_user_id(id, call.config->max_user_id_length)) {
      return respond(rest_error(400, "Invalid user id \"" + id + "\""));
    }
  }
  users_presence(call.context, call.app, std::move(ids), call.user->user_id, true,
                 std::move(respond));
}

std::variant<StreamMember, RestResponse> stream_member(const ApiCall& call) {
  const std::string_view context = query_value(call.request, "context");
  if (context.empty()) return rest_error(400, "Give the context as ?context=chat.42");
  auto channel = context_channel(context);
  if (auto* refusal = refusal_of(channel)) return *refusal;
  if (auto refusal = scope_refusal(*call.user, std::get<std::string>(channel))) return *refusal;
  return StreamMember{call.app, std::move(std::get<std::string>(channel)), call.user->user_id,
                      call.user->user_info, call.request.origin};
}

}  // namespace greendot::api
