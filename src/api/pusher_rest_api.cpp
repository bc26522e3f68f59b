#include "api/pusher_rest_api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

#include "core/channel_name.hpp"
#include "engine/broker.hpp"
#include "protocol/json_text.hpp"
#include "protocol/pusher_messages.hpp"

namespace greendot::api {

namespace json = boost::json;
using core::ChannelKind;

namespace {

// Pusher's limits: 100 channels per trigger, 200-character event names. Data size and batch
// length are per app (max_event_data_bytes, max_batch_events).
constexpr std::size_t kMaxChannelsPerTrigger = 100;
constexpr std::size_t kMaxEventNameLength = 200;

RestResponse error(int status, std::string_view message) {
  return rest_error(status, message);
}

RestResponse ok(const json::value& value) {
  return {200, json::serialize(value), {}};
}

// A problem with the request, reported as the response it deserves.
struct Refusal {
  RestResponse response;
};

template <class T>
using Checked = std::variant<T, Refusal>;

const std::string* query_param(const RestRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.query) {
    if (key == name) return &value;
  }
  return nullptr;
}

// The attributes asked for with info=user_count,subscription_count.
struct InfoRequest {
  bool user_count = false;
  bool subscription_count = false;
  bool any() const { return user_count || subscription_count; }
};

// The attributes, or what is wrong with them.
std::variant<InfoRequest, std::string> parse_info(std::string_view info) {
  InfoRequest wanted;
  while (!info.empty()) {
    auto comma = info.find(',');
    std::string_view item = info.substr(0, comma);
    if (item == "user_count") {
      wanted.user_count = true;
    } else if (item == "subscription_count") {
      wanted.subscription_count = true;
    } else if (!item.empty()) {
      return "Unknown info attribute \"" + std::string(item) +
             "\"; use user_count and/or subscription_count";
    }
    if (comma == std::string_view::npos) break;
    info.remove_prefix(comma + 1);
  }
  return wanted;
}

json::object stats_json(const InfoRequest& info, std::string_view channel,
                        const engine::ChannelStats& stats) {
  json::object attributes;
  if (info.user_count && core::classify_channel(channel) == ChannelKind::Presence) {
    attributes["user_count"] = stats.user_count;
  }
  if (info.subscription_count) attributes["subscription_count"] = stats.subscription_count;
  return attributes;
}

Checked<json::object> parse_body_object(const RestRequest& request) {
  std::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec) return Refusal{error(400, "Invalid JSON body: " + ec.message())};
  if (!body.is_object()) return Refusal{error(400, "The body must be a JSON object")};
  return std::move(body.get_object());
}

// One event to trigger, validated.
struct Trigger {
  std::string name;
  std::string data;
  std::vector<std::string> channels;
  protocol::SocketId except;
  InfoRequest info;
};

// `where` prefixes every message, so that a bad batch entry is named.
Checked<Trigger> parse_trigger(const json::object& o, bool allow_many_channels,
                               std::size_t max_data_bytes, const std::string& where) {
  auto refuse = [&](int status, const std::string& message) {
    return Refusal{error(status, where + message)};
  };
  Trigger trigger;
  const json::value* name = o.if_contains("name");
  if (!name || !name->is_string() || name->get_string().empty()) {
    return refuse(400, "\"name\" must be a non-empty string");
  }
  if (name->get_string().size() > kMaxEventNameLength) {
    return refuse(400, "\"name\" is longer than 200 characters");
  }
  trigger.name = std::string(name->get_string());

  const json::value* data = o.if_contains("data");
  if (!data) return refuse(400, "\"data\" is required");
  // Pusher's SDKs send data as a string; an object is accepted and sent as its JSON text.
  trigger.data = data->is_string() ? std::string(data->get_string()) : json::serialize(*data);
  if (trigger.data.size() > max_data_bytes) {
    return refuse(413, "\"data\" is " + std::to_string(trigger.data.size()) +
                           " bytes; the limit is " + std::to_string(max_data_bytes));
  }

  const json::value* channels = o.if_contains("channels");
  const json::value* channel = o.if_contains("channel");
  if (channels && allow_many_channels) {
    if (!channels->is_array()) return refuse(400, "\"channels\" must be an array");
    for (const auto& c : channels->get_array()) {
      if (!c.is_string()) return refuse(400, "\"channels\" must hold strings");
      trigger.channels.emplace_back(c.get_string());
    }
  } else if (channel) {
    if (!channel->is_string()) return refuse(400, "\"channel\" must be a string");
    trigger.channels.emplace_back(channel->get_string());
  }
  if (trigger.channels.empty()) {
    return refuse(400, allow_many_channels ? "\"channels\" or \"channel\" is required"
                                           : "\"channel\" is required");
  }
  if (trigger.channels.size() > kMaxChannelsPerTrigger) {
    return refuse(400,
                  "At most 100 channels per event, got " + std::to_string(trigger.channels.size()));
  }
  for (const auto& c : trigger.channels) {
    auto kind = core::classify_channel(c);
    if (!kind) {
      return refuse(
          400, "Invalid channel name \"" + c + "\": 1 to 164 characters from [A-Za-z0-9_-=@,.;]");
    }
    if (*kind == ChannelKind::Encrypted && trigger.channels.size() > 1) {
      return refuse(400, "An encrypted channel must be the only channel of an event");
    }
  }

  if (const json::value* socket_id = o.if_contains("socket_id");
      socket_id && !socket_id->is_null()) {
    std::optional<protocol::SocketId> parsed;
    if (socket_id->is_string()) parsed = protocol::SocketId::parse(socket_id->get_string());
    if (!parsed) return refuse(400, "\"socket_id\" must look like \"123.456\"");
    trigger.except = *parsed;
  }
  if (const json::value* info = o.if_contains("info"); info && !info->is_null()) {
    if (!info->is_string()) return refuse(400, "\"info\" must be a string");
    auto wanted = parse_info(info->get_string());
    if (auto* problem = std::get_if<std::string>(&wanted)) return refuse(400, *problem);
    trigger.info = std::get<InfoRequest>(wanted);
  }
  return trigger;
}

void publish(server::ServerContext& context, core::AppIndex app, const Trigger& trigger) {
  const std::string data_json = protocol::json_string(trigger.data);
  for (const auto& channel : trigger.channels) {
    context.broker.publish(engine::ChannelMessage{
        app,
        channel,
        engine::make_text_frame(protocol::pusher::channel_event(trigger.name, channel, data_json)),
        trigger.except,
        {}});
  }
}

// The info attributes of several triggers, asked of the engine in one query.
void answer_with_info(server::ServerContext& context, core::AppIndex app,
                      std::vector<Trigger> triggers, bool batch, Respond respond) {
  std::vector<std::string> channels;
  for (const auto& t : triggers) {
    if (t.info.any()) channels.insert(channels.end(), t.channels.begin(), t.channels.end());
  }
  if (channels.empty()) return respond(ok(json::object{}));
  context.engine.channel_stats(
      app, channels,
      [triggers = std::move(triggers), batch,
       respond = std::move(respond)](engine::Answer<std::vector<engine::ChannelStats>> stats) {
        if (!stats) return respond(engine_unavailable());
        std::size_t next = 0;
        json::array per_trigger;
        for (const auto& t : triggers) {
          json::object per_channel;
          if (t.info.any()) {
            for (const auto& c : t.channels)
              per_channel[c] = stats_json(t.info, c, (*stats)[next++]);
          }
          per_trigger.push_back(json::object{{"channels", std::move(per_channel)}});
        }
        if (batch) {
          // Each batch entry answers with its one channel's attributes.
          json::array entries;
          for (auto& entry : per_trigger) {
            auto& channels = entry.as_object()["channels"].as_object();
            entries.push_back(channels.empty() ? json::object{} : channels.begin()->value());
          }
          return respond(ok(json::object{{"batch", std::move(entries)}}));
        }
        respond(ok(per_trigger.front()));
      });
}

// Answers, then publishes. Both the answer and this thread's share of the deliveries are
// posted to the caller's thread; answering first puts the answer ahead, so a backend is not
// kept waiting behind a large fan-out (and its next trigger can start on the other threads
// meanwhile). Everything that could refuse the request has been checked before.
void answer_then_publish(server::ServerContext& context, core::AppIndex app,
                         std::vector<Trigger> triggers, bool batch, Respond respond) {
  const bool wants_info =
      std::any_of(triggers.begin(), triggers.end(), [](const Trigger& t) { return t.info.any(); });
  if (wants_info) {
    answer_with_info(context, app, triggers, batch, std::move(respond));
  } else {
    respond(ok(json::object{}));
  }
  for (const auto& trigger : triggers) publish(context, app, trigger);
}

}  // namespace

void post_events(ApiCall& call, Respond respond) {
  auto body = parse_body_object(call.request);
  if (auto* refusal = std::get_if<Refusal>(&body)) return respond(refusal->response);
  auto trigger =
      parse_trigger(std::get<json::object>(body), true, call.config->max_event_data_bytes, "");
  if (auto* refusal = std::get_if<Refusal>(&trigger)) return respond(refusal->response);
  std::vector<Trigger> triggers;
  triggers.push_back(std::move(std::get<Trigger>(trigger)));
  answer_then_publish(call.context, call.app, std::move(triggers), false, std::move(respond));
}

void post_batch_events(ApiCall& call, Respond respond) {
  auto body = parse_body_object(call.request);
  if (auto* refusal = std::get_if<Refusal>(&body)) return respond(refusal->response);
  const json::value* batch = std::get<json::object>(body).if_contains("batch");
  if (!batch || !batch->is_array()) return respond(error(400, "\"batch\" must be an array"));
  const auto& config = *call.config;
  if (batch->get_array().size() > config.max_batch_events) {
    return respond(error(400, "At most " + std::to_string(config.max_batch_events) +
                                  " events per batch, got " +
                                  std::to_string(batch->get_array().size())));
  }
  // Everything is checked before anything is published: a batch is all or nothing.
  std::vector<Trigger> triggers;
  for (std::size_t i = 0; i < batch->get_array().size(); ++i) {
    const json::value& entry = batch->get_array()[i];
    if (!entry.is_object()) return respond(error(400, "batch entries must be objects"));
    auto trigger = parse_trigger(entry.get_object(), false, config.max_event_data_bytes,
                                 "batch[" + std::to_string(i) + "]: ");
    if (auto* refusal = std::get_if<Refusal>(&trigger)) return respond(refusal->response);
    triggers.push_back(std::move(std::get<Trigger>(trigger)));
  }
  answer_then_publish(call.context, call.app, std::move(triggers), true, std::move(respond));
}

void get_channels(ApiCall& call, Respond respond) {
  auto& context = call.context;
  const auto app = call.app;
  const auto& request = call.request;
  const std::string* prefix = query_param(request, "filter_by_prefix");
  InfoRequest info;
  if (const std::string* text = query_param(request, "info")) {
    auto wanted = parse_info(*text);
    if (auto* problem = std::get_if<std::string>(&wanted)) return respond(error(400, *problem));
    info = std::get<InfoRequest>(wanted);
  }
  if (info.user_count && (!prefix || !prefix->starts_with("presence-"))) {
    return respond(error(400, "info=user_count needs filter_by_prefix=presence-"));
  }
  context.engine.list_channels(app, prefix ? *prefix : std::string(),
                               [info, respond = std::move(respond)](
                                   engine::Answer<std::vector<engine::ChannelListing>> listing) {
                                 if (!listing) return respond(engine_unavailable());
                                 json::object channels;
                                 for (const auto& entry : *listing) {
                                   channels[entry.name] = stats_json(info, entry.name, entry.stats);
                                 }
                                 respond(ok(json::object{{"channels", std::move(channels)}}));
                               });
}

void get_channel(ApiCall& call, Respond respond) {
  std::string channel = call.params.at(0);
  if (!core::classify_channel(channel)) {
    return respond(error(400, "Invalid channel name \"" + channel + "\""));
  }
  auto& context = call.context;
  const auto app = call.app;
  const auto& request = call.request;
  InfoRequest info;
  if (const std::string* text = query_param(request, "info")) {
    auto wanted = parse_info(*text);
    if (auto* problem = std::get_if<std::string>(&wanted)) return respond(error(400, *problem));
    info = std::get<InfoRequest>(wanted);
  }
  if (info.user_count && core::classify_channel(channel) != ChannelKind::Presence) {
    return respond(error(400, "info=user_count is only available for presence- channels"));
  }
  context.engine.channel_stats(app, {channel},
                               [info, channel, respond = std::move(respond)](
                                   engine::Answer<std::vector<engine::ChannelStats>> stats) {
                                 if (!stats) return respond(engine_unavailable());
                                 json::object body = stats_json(info, channel, stats->front());
                                 body["occupied"] = stats->front().occupied;
                                 respond(ok(body));
                               });
}

void get_channel_users(ApiCall& call, Respond respond) {
  std::string channel = call.params.at(0);
  if (!core::classify_channel(channel)) {
    return respond(error(400, "Invalid channel name \"" + channel + "\""));
  }
  if (core::classify_channel(channel) != ChannelKind::Presence) {
    return respond(error(400, "Users are only available for presence- channels"));
  }
  call.context.engine.channel_users(
      call.app, channel,
      [respond = std::move(respond)](engine::Answer<std::vector<std::string>> users) {
        if (!users) return respond(engine_unavailable());
        json::array list;
        for (auto& id : *users) list.push_back(json::object{{"id", id}});
        respond(ok(json::object{{"users", std::move(list)}}));
      });
}

void terminate_user_connections(ApiCall& call, Respond respond) {
  const std::string& user = call.params.at(0);
  if (!core::valid_user_id(user, call.config->max_user_id_length)) {
    return respond(error(400, "Invalid user id \"" + user + "\""));
  }
  call.context.terminate_user(call.app, user);
  respond(ok(json::object{}));
}

}  // namespace greendot::api
