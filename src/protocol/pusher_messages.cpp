#include "protocol/pusher_messages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

#include "core/channel_name.hpp"
#include "protocol/json_text.hpp"

namespace greendot::protocol::pusher {

namespace json = boost::json;

namespace {

// Old clients send `data` as a JSON string of an object; accept both forms.
Parsed<json::object> data_object(const json::value& data, std::string_view event) {
  if (data.is_object()) return data.get_object();
  if (data.is_string()) {
    std::error_code ec;
    json::value inner = json::parse(data.get_string(), ec);
    if (!ec && inner.is_object()) return std::move(inner.get_object());
  }
  return Problem{"The data of " + std::string(event) + " must be an object"};
}

// A required string field of an object.
Parsed<std::string> string_field(const json::object& o, std::string_view key,
                                 std::string_view event) {
  const json::value* v = o.if_contains(key);
  if (!v) return Problem{std::string(event) + " needs data." + std::string(key)};
  if (!v->is_string()) {
    return Problem{"data." + std::string(key) + " of " + std::string(event) + " must be a string"};
  }
  return std::string(v->get_string());
}

std::optional<std::string> optional_string(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->get_string());
  return std::nullopt;
}

}  // namespace

// 10, "10" and 10.0 are the same user; 10.5 and non-scalars are not user ids.
std::optional<std::string> user_id_from_json(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
  }
  return std::nullopt;
}

namespace {

// {"event":..,["channel":..,]"data":"<data_json as a string>"}: Pusher's double encoding.
std::string event_with_string_data(std::string_view event, std::string_view channel,
                                   std::string_view data_json) {
  std::string out = "{\"event\":";
  append_json_string(out, event);
  if (!channel.empty()) {
    out.append(",\"channel\":");
    append_json_string(out, channel);
  }
  out.append(",\"data\":");
  append_json_string(out, data_json);
  out.push_back('}');
  return out;
}

}  // namespace

Parsed<ClientMessage> parse_client_message(std::string_view text) {
  std::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Problem{"Invalid JSON: " + ec.message()};
  if (!root.is_object()) return Problem{"A message must be a JSON object"};
  json::object& o = root.get_object();
  const json::value* event = o.if_contains("event");
  if (!event) return Problem{"A message needs an \"event\" field"};
  if (!event->is_string()) return Problem{"\"event\" must be a string"};
  ClientMessage message;
  message.event = std::string(event->get_string());
  if (const json::value* channel = o.if_contains("channel"); channel && !channel->is_null()) {
    if (!channel->is_string()) return Problem{"\"channel\" must be a string"};
    message.channel = std::string(channel->get_string());
  }
  if (json::value* data = o.if_contains("data")) message.data = std::move(*data);
  return message;
}

Parsed<SubscribeRequest> read_subscribe(const json::value& data) {
  auto object = data_object(data, "pusher:subscribe");
  if (auto* p = std::get_if<Problem>(&object)) return *p;
  const auto& o = std::get<json::object>(object);
  auto channel = string_field(o, "channel", "pusher:subscribe");
  if (auto* p = std::get_if<Problem>(&channel)) return *p;
  SubscribeRequest request;
  request.channel = std::move(std::get<std::string>(channel));
  for (const char* key : {"auth", "channel_data"}) {
    const json::value* v = o.if_contains(key);
    if (v && !v->is_null() && !v->is_string()) {
      return Problem{"data." + std::string(key) + " of pusher:subscribe must be a string"};
    }
  }
  request.auth = optional_string(o, "auth");
  request.channel_data = optional_string(o, "channel_data");
  return request;
}

Parsed<std::string> read_unsubscribe(const json::value& data) {
  auto object = data_object(data, "pusher:unsubscribe");
  if (auto* p = std::get_if<Problem>(&object)) return *p;
  return string_field(std::get<json::object>(object), "channel", "pusher:unsubscribe");
}

Parsed<SigninRequest> read_signin(const json::value& data) {
  auto object = data_object(data, "pusher:signin");
  if (auto* p = std::get_if<Problem>(&object)) return *p;
  const auto& o = std::get<json::object>(object);
  auto auth = string_field(o, "auth", "pusher:signin");
  if (auto* p = std::get_if<Problem>(&auth)) return *p;
  auto user_data = string_field(o, "user_data", "pusher:signin");
  if (auto* p = std::get_if<Problem>(&user_data)) return *p;
  return SigninRequest{std::move(std::get<std::string>(auth)),
                       std::move(std::get<std::string>(user_data))};
}

IdentityResult parse_channel_data(std::string_view channel_data, std::size_t max_user_id_length,
                                  std::size_t max_user_info_bytes) {
  IdentityResult result;
  std::error_code ec;
  json::value root = json::parse(channel_data, ec);
  if (ec || !root.is_object()) {
    result.error = IdentityError::Malformed;
    result.message = "channel_data must be a JSON object";
    return result;
  }
  const json::object& o = root.get_object();
  const json::value* user_id = o.if_contains("user_id");
  std::optional<std::string> id = user_id ? user_id_from_json(*user_id) : std::nullopt;
  if (!id || !core::valid_user_id(*id, max_user_id_length)) {
    result.error = IdentityError::BadUserId;
    result.message = "channel_data.user_id must be a string or integer of 1 to " +
                     std::to_string(max_user_id_length) + " characters from [A-Za-z0-9_-=@,.;]";
    return result;
  }
  result.identity.user_id = std::move(*id);
  const json::value* info = o.if_contains("user_info");
  if (!info || info->is_null()) {
    result.identity.user_info = "null";
    return result;
  }
  if (!info->is_object()) {
    result.error = IdentityError::UserInfoNotObject;
    result.message = "channel_data.user_info must be an object";
    return result;
  }
  result.identity.user_info = json::serialize(*info);
  if (result.identity.user_info.size() > max_user_info_bytes) {
    result.error = IdentityError::UserInfoTooLarge;
    result.message = "channel_data.user_info is " +
                     std::to_string(result.identity.user_info.size()) + " bytes; the limit is " +
                     std::to_string(max_user_info_bytes);
  }
  return result;
}

Parsed<UserData> parse_user_data(std::string_view user_data, std::size_t max_user_id_length) {
  std::error_code ec;
  json::value root = json::parse(user_data, ec);
  if (ec || !root.is_object()) return Problem{"user_data must be a JSON object"};
  const json::value* id = root.get_object().if_contains("id");
  if (!id || !id->is_string() || !core::valid_user_id(id->get_string(), max_user_id_length)) {
    return Problem{"user_data.id must be a non-empty string of at most " +
                   std::to_string(max_user_id_length) + " characters from [A-Za-z0-9_-=@,.;]"};
  }
  UserData data{std::string(id->get_string()), {}};
  if (const json::value* watchlist = root.get_object().if_contains("watchlist")) {
    if (!watchlist->is_array()) return Problem{"user_data.watchlist must be an array of user ids"};
    for (const auto& entry : watchlist->get_array()) {
      auto watched = user_id_from_json(entry);
      if (!watched || !core::valid_user_id(*watched, max_user_id_length)) {
        return Problem{"user_data.watchlist holds an invalid user id"};
      }
      data.watchlist.push_back(std::move(*watched));
    }
  }
  return data;
}

std::string connection_established(std::string_view socket_id, std::uint32_t activity_timeout_s) {
  std::string data = "{\"socket_id\":";
  append_json_string(data, socket_id);
  data.append(",\"activity_timeout\":").append(std::to_string(activity_timeout_s)).append("}");
  return event_with_string_data("pusher:connection_established", {}, data);
}

std::string ping() {
  return R"({"event":"pusher:ping","data":"{}"})";
}
std::string pong() {
  return R"({"event":"pusher:pong","data":"{}"})";
}

std::string error(std::uint16_t code, std::string_view message) {
  std::string out = R"({"event":"pusher:error","data":{)";
  if (code != 0) out.append("\"code\":").append(std::to_string(code)).append(",");
  out.append("\"message\":");
  append_json_string(out, message);
  out.append("}}");
  return out;
}

std::string subscription_succeeded(std::string_view channel) {
  return event_with_string_data("pusher_internal:subscription_succeeded", channel, "{}");
}

std::string presence_subscription_succeeded(std::string_view channel,
                                            std::string_view presence_data) {
  return event_with_string_data("pusher_internal:subscription_succeeded", channel, presence_data);
}

std::string subscription_error(std::string_view channel, std::string_view type,
                               std::string_view message, int status) {
  std::string out = R"({"event":"pusher:subscription_error","channel":)";
  append_json_string(out, channel);
  out.append(R"(,"data":{"type":)");
  append_json_string(out, type);
  out.append(",\"error\":");
  append_json_string(out, message);
  out.append(",\"status\":").append(std::to_string(status)).append("}}");
  return out;
}

std::string member_added(std::string_view channel, std::string_view user_id,
                         std::string_view user_info_json) {
  std::string data = "{\"user_id\":";
  append_json_string(data, user_id);
  data.append(",\"user_info\":").append(user_info_json).append("}");
  return event_with_string_data("pusher_internal:member_added", channel, data);
}

std::string member_removed(std::string_view channel, std::string_view user_id) {
  std::string data = "{\"user_id\":";
  append_json_string(data, user_id);
  data.push_back('}');
  return event_with_string_data("pusher_internal:member_removed", channel, data);
}

std::string member_updated(std::string_view channel, std::string_view user_id,
                           std::string_view status) {
  std::string data = "{\"user_id\":";
  append_json_string(data, user_id);
  data.append(",\"status\":");
  append_json_string(data, status);
  data.push_back('}');
  return event_with_string_data("greendot:member_updated", channel, data);
}

std::string watchlist_event(std::string_view name, const std::vector<std::string>& user_ids) {
  std::string data = "{\"events\":[{\"name\":";
  append_json_string(data, name);
  data.append(",\"user_ids\":[");
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    if (i > 0) data.push_back(',');
    append_json_string(data, user_ids[i]);
  }
  data.append("]}]}");
  return event_with_string_data("pusher_internal:watchlist_events", {}, data);
}

std::string signin_success(std::string_view user_data) {
  std::string data = "{\"user_data\":";
  append_json_string(data, user_data);
  data.push_back('}');
  return event_with_string_data("pusher:signin_success", {}, data);
}

std::string channel_event(std::string_view event, std::string_view channel,
                          std::string_view data_json, std::string_view user_id) {
  std::string out = "{\"event\":";
  append_json_string(out, event);
  out.append(",\"channel\":");
  append_json_string(out, channel);
  out.append(",\"data\":").append(data_json);
  if (!user_id.empty()) {
    out.append(",\"user_id\":");
    append_json_string(out, user_id);
  }
  out.push_back('}');
  return out;
}

void PresenceSnapshot::add(std::string_view user_id, std::string_view user_info_json) {
  if (count_ > 0) {
    ids_.push_back(',');
    hash_.push_back(',');
  }
  append_json_string(ids_, user_id);
  append_json_string(hash_, user_id);
  hash_.push_back(':');
  hash_.append(user_info_json);
  ++count_;
}

std::string PresenceSnapshot::str() const {
  std::string out = "{\"presence\":{\"ids\":[";
  out.append(ids_).append("],\"hash\":{").append(hash_).append("},\"count\":");
  out.append(std::to_string(count_)).append("}}");
  return out;
}

}  // namespace greendot::protocol::pusher
