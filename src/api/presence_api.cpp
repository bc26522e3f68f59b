#include "api/presence_api.hpp"

#include <boost/json.hpp>

#include "api/presence_fields.hpp"
#include "api/presence_queries.hpp"
#include "core/channel_name.hpp"
#include "protocol/pusher_messages.hpp"
#include "storage/privacy_names.hpp"

namespace greendot::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxUsersPerQuery = 1000;

RestResponse ok(const json::value& value) {
  return {200, json::serialize(value), {}};
}

template <class T>
bool take(Field<T>& field, T& out, Respond& respond) {
  if (auto* refusal = refusal_of(field)) {
    respond(*refusal);
    return false;
  }
  out = std::move(std::get<T>(field));
  return true;
}

void get_privacy(ApiCall& call, std::string user, Respond respond) {
  users_presence(call.context, call.app, {user}, {}, false,
                 [user, respond = std::move(respond)](RestResponse r) {
                   // {"users":{id:{...,"privacy":{...}}}} → the privacy object.
                   auto all = json::parse(r.body);
                   respond(ok(all.at("users").at(user).at("privacy")));
                 });
}

void put_privacy(ApiCall& call, std::string user, const json::object& body, Respond respond) {
  engine::PrivacyChange change;
  const auto text = [](const json::value& v) {
    return v.is_string() ? std::string_view(v.get_string()) : std::string_view();
  };
  if (const json::value* v = body.if_contains("visibility")) {
    change.visibility = storage::visibility_named(text(*v));
    if (!change.visibility) {
      return respond(rest_error(400, "\"visibility\" must be \"everyone\" or \"nobody\""));
    }
  }
  if (const json::value* v = body.if_contains("last_seen")) {
    change.last_seen = storage::last_seen_named(text(*v));
    if (!change.last_seen) {
      return respond(
          rest_error(400, "\"last_seen\" must be \"exact\", \"approximate\" or \"hidden\""));
    }
  }
  // A PUT that names nothing to change is a mistake (a misspelt key, a wrong body), not a
  // no-op to answer 200.
  for (const auto& [key, value] : body) {
    if (key != "visibility" && key != "last_seen") {
      return respond(rest_error(400, "Unknown privacy setting \"" + std::string(key) +
                                         "\"; use \"visibility\" and/or \"last_seen\""));
    }
  }
  if (!change.visibility && !change.last_seen) {
    return respond(rest_error(400, "Give \"visibility\" and/or \"last_seen\" to change"));
  }
  call.context.engine.update_privacy(
      call.app, std::move(user), change,
      [respond = std::move(respond)](engine::Answer<storage::Privacy> privacy) {
        if (!privacy) return respond(engine_unavailable());
        respond(ok(json::object{{"visibility", storage::visibility_name(privacy->visibility)},
                                {"last_seen", storage::last_seen_name(privacy->last_seen)}}));
      });
}

}  // namespace

void signed_heartbeat(ApiCall& call, Respond respond) {
  auto body = body_object(call.request.body);
  json::object o;
  if (!take(body, o, respond)) return;
  HeartbeatCall heartbeat_call;
  auto user = user_id_field(o, *call.config);
  if (!take(user, heartbeat_call.user_id, respond)) return;
  auto info = user_info_field(o, *call.config);
  if (!take(info, heartbeat_call.user_info, respond)) return;
  auto channels = contexts_of(o);
  if (!take(channels, heartbeat_call.channels, respond)) return;
  auto status = status_field(o);
  if (!take(status, heartbeat_call.status, respond)) return;
  auto tab = tab_field(o, {});
  if (!take(tab, heartbeat_call.tab, respond)) return;
  heartbeat(call.context, call.app, std::move(heartbeat_call), std::move(respond));
}

void signed_offline(ApiCall& call, Respond respond) {
  auto body = body_object(call.request.body);
  json::object o;
  if (!take(body, o, respond)) return;
  auto user = user_id_field(o, *call.config);
  std::string user_id;
  if (!take(user, user_id, respond)) return;
  auto context = optional_context(o);
  std::string channel;
  if (!take(context, channel, respond)) return;
  auto tab_text = tab_field(o, {});
  std::string tab;
  if (!take(tab_text, tab, respond)) return;
  // Answered once applied: a read or a ping after the answer sees it.
  call.context.engine.heartbeat_offline(
      offline_of(*call.config, call.app, std::move(user_id), std::move(channel), std::move(tab)),
      [respond = std::move(respond)] { respond(ok(json::object{})); });
}

void users_presence(ApiCall& call, Respond respond) {
  auto body = body_object(call.request.body);
  json::object o;
  if (!take(body, o, respond)) return;
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
    if (!id || !core::valid_user_id(*id, call.config->max_user_id_length)) {
      return respond(rest_error(400, "\"users\" holds an invalid user id"));
    }
    ids.push_back(std::move(*id));
  }
  const json::value* unfiltered = o.if_contains("unfiltered");
  if (unfiltered && !unfiltered->is_bool()) {
    return respond(rest_error(400, "\"unfiltered\" must be true or false"));
  }
  const bool apply_privacy = !(unfiltered && unfiltered->get_bool());
  users_presence(call.context, call.app, std::move(ids), {}, apply_privacy, std::move(respond));
}

void user_privacy(ApiCall& call, Respond respond) {
  std::string user = call.params.at(0);
  if (!core::valid_user_id(user, call.config->max_user_id_length)) {
    return respond(rest_error(400, "Invalid user id \"" + user + "\""));
  }
  if (call.request.method == "GET") return get_privacy(call, std::move(user), std::move(respond));
  auto body = body_object(call.request.body);
  json::object o;
  if (!take(body, o, respond)) return;
  put_privacy(call, std::move(user), o, std::move(respond));
}

}  // namespace greendot::api
