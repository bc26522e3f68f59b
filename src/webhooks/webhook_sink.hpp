// WebhookSink: where the server reports the events an application may want to hear about.
// emit() is called on hot paths (joins, leaves, client events) from any thread: it only
// enqueues, it never blocks on the network.
#pragma once

#include <string>
#include <string_view>

#include "core/presence_book.hpp"

namespace greendot::webhooks {

enum class EventType { ChannelOccupied, ChannelVacated, MemberAdded, MemberRemoved, ClientEvent };

// The names used on the wire ("name" of an event) and in the configuration.
std::string_view event_type_name(EventType type);

class WebhookSink {
 public:
  virtual ~WebhookSink() = default;
  // `event_json` is one element of the webhook body's "events" array, e.g.
  // {"name":"member_added","channel":"presence-room.1","user_id":"7"}.
  virtual void emit(core::AppIndex app, EventType type, std::string event_json) = 0;
  // Whether any target of the app takes this type: callers skip building the JSON otherwise.
  // Thread-safe and lock-free.
  virtual bool wants(core::AppIndex app, EventType type) const = 0;
};

// Emit a channel or member event when a target of the app takes its type: the JSON is built
// only then. What every engine does at an occupancy or membership change.
void emit_channel_event(WebhookSink& sink, core::AppIndex app, EventType type,
                        std::string_view channel);
void emit_member_event(WebhookSink& sink, core::AppIndex app, EventType type,
                       std::string_view channel, std::string_view user_id);

// Builders of the events' JSON, shared by everything that emits them.
std::string channel_event_json(EventType type, std::string_view channel);
std::string member_event_json(EventType type, std::string_view channel, std::string_view user_id);
// `data_text` is the client's data as Pusher reports it: a string as it was, anything else
// serialized to JSON text; it goes out as a JSON string. `user_id` is left out when empty.
std::string client_event_json(std::string_view channel, std::string_view event,
                              std::string_view data_text, std::string_view socket_id,
                              std::string_view user_id);

}  // namespace greendot::webhooks
