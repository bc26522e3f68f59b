#include "api/presence_fields.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "core/channel_name.hpp"
#include "protocol/pusher_messages.hpp"

namespace greendot::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxContextsPerHeartbeat = 100;
constexpr std::string_view kDefaultContext = "global";
constexpr std::string_view kPresencePrefix = "presence-";

}  // namespace

Field<json::object> body_object(const std::string& body) {
  if (body.empty()) return json::object{};
  std::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return rest_error(400, "Invalid JSON body: " + ec.message());
  if (!value.is_object()) return rest_error(400, "The body must be a JSON object");
  return std::move(value.get_object());
}

Field<std::string> context_channel(std::string_view context) {
  // "presence-chat.42" as a context would silently be the channel presence-presence-chat.42.
  if (context.starts_with(kPresencePrefix)) {
    return rest_error(400, "Give the context without the presence- prefix: \"" +
                               std::string(context.substr(kPresencePrefix.size())) + "\", not \"" +
                               std::string(context) + "\"");
  }
  std::string channel = std::string(kPresencePrefix) + std::string(context);
  if (context.empty() || core::classify_channel(channel) != core::ChannelKind::Presence) {
    return rest_error(400, "Invalid context \"" + std::string(context) +
                               "\": 1 to 155 characters from [A-Za-z0-9_-=@,.;]");
  }
  return channel;
}

Field<std::string> context_channel(const json::value& context) {
  if (!context.is_string()) return rest_error(400, "Contexts are strings, e.g. \"chat.42\"");
  return context_channel(std::string_view(context.get_string()));
}

std::string_view context_of(std::string_view channel) {
  return channel.substr(kPresencePrefix.size());
}

Field<std::vector<std::string>> contexts_of(const json::object& body) {
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
      if (auto* refusal = refusal_of(channel)) return *refusal;
      channels.push_back(std::move(std::get<std::string>(channel)));
    }
  } else if (const json::value* one = body.if_contains("context")) {
    auto channel = context_channel(*one);
    if (auto* refusal = refusal_of(channel)) return *refusal;
    channels.push_back(std::move(std::get<std::string>(channel)));
  } else {
    channels.push_back(std::string(kPresencePrefix) + std::string(kDefaultContext));
  }
  return channels;
}

Field<std::string> optional_context(const json::object& body) {
  const json::value* c = body.if_contains("context");
  if (!c) return std::string();
  return context_channel(*c);
}

Field<std::optional<engine::UserStatus>> status_field(const json::object& body) {
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

namespace {

bool valid_tab(std::string_view tab) {
  if (tab.empty() || tab.size() > 64) return false;
  return std::all_of(tab.begin(), tab.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
           c == '-';
  });
}

}  // namespace

Field<std::string> tab_field(const json::object& body, std::string_view query_tab) {
  const json::value* tab = body.if_contains("tab");
  if (tab && tab->is_null()) tab = nullptr;
  if (tab && !tab->is_string()) return rest_error(400, "\"tab\" must be a string");
  const std::string_view text = tab ? std::string_view(tab->get_string()) : query_tab;
  if (!tab && query_tab.empty()) return std::string{};
  if (!valid_tab(text)) {
    return rest_error(400,
                      "\"tab\" must be 1 to 64 characters from [A-Za-z0-9_.:-], "
                      "the same for every ping and the offline of one tab");
  }
  return std::string(text);
}

Field<std::string> user_id_field(const json::object& body, const config::AppConfig& app) {
  const json::value* id = body.if_contains("user_id");
  auto user = id ? protocol::pusher::user_id_from_json(*id) : std::nullopt;
  if (!user || !core::valid_user_id(*user, app.max_user_id_length)) {
    return rest_error(400, "\"user_id\" must be a string or integer of 1 to " +
                               std::to_string(app.max_user_id_length) +
                               " characters from [A-Za-z0-9_-=@,.;]");
  }
  return *user;
}

Field<std::string> user_info_field(const json::object& body, const config::AppConfig& app) {
  const json::value* info = body.if_contains("user_info");
  if (!info || info->is_null()) return std::string("null");
  if (!info->is_object()) return rest_error(400, "\"user_info\" must be an object");
  std::string text = json::serialize(*info);
  if (text.size() > app.max_user_info_bytes) {
    return rest_error(413, "\"user_info\" is " + std::to_string(text.size()) +
                               " bytes; the limit is " + std::to_string(app.max_user_info_bytes));
  }
  return text;
}

}  // namespace greendot::api
