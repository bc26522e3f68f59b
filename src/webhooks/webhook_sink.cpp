#include "webhooks/webhook_sink.hpp"

#include "protocol/json_text.hpp"

namespace greendot::webhooks {
namespace {

// Appends `,"key":<value as a JSON string>`.
void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  protocol::append_json_string(out, value);
}

std::string event_start(EventType type, std::string_view channel) {
  std::string out = "{\"name\":\"";
  out += event_type_name(type);
  out += '"';
  append_field(out, "channel", channel);
  return out;
}

}  // namespace

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::ChannelOccupied:
      return "channel_occupied";
    case EventType::ChannelVacated:
      return "channel_vacated";
    case EventType::MemberAdded:
      return "member_added";
    case EventType::MemberRemoved:
      return "member_removed";
    case EventType::ClientEvent:
      return "client_event";
  }
  return "unknown";
}

std::string channel_event_json(EventType type, std::string_view channel) {
  std::string out = event_start(type, channel);
  out += '}';
  return out;
}

std::string member_event_json(EventType type, std::string_view channel, std::string_view user_id) {
  std::string out = event_start(type, channel);
  append_field(out, "user_id", user_id);
  out += '}';
  return out;
}

void emit_channel_event(WebhookSink& sink, core::AppIndex app, EventType type,
                        std::string_view channel) {
  if (sink.wants(app, type)) sink.emit(app, type, channel_event_json(type, channel));
}

void emit_member_event(WebhookSink& sink, core::AppIndex app, EventType type,
                       std::string_view channel, std::string_view user_id) {
  if (sink.wants(app, type)) sink.emit(app, type, member_event_json(type, channel, user_id));
}

std::string client_event_json(std::string_view channel, std::string_view event,
                              std::string_view data_text, std::string_view socket_id,
                              std::string_view user_id) {
  std::string out = event_start(EventType::ClientEvent, channel);
  append_field(out, "event", event);
  append_field(out, "data", data_text);
  append_field(out, "socket_id", socket_id);
  if (!user_id.empty()) append_field(out, "user_id", user_id);
  out += '}';
  return out;
}

}  // namespace greendot::webhooks
