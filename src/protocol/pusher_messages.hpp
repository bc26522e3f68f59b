// Pusher protocol 7 messages: reading what clients send, writing what the server sends.
// Pure functions; every reader says in words what is wrong with bad input.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace greendot::protocol::pusher {

// A problem with a client's message, in words fit to send back to it.
struct Problem {
  std::string message;
};

template <class T>
using Parsed = std::variant<T, Problem>;

struct ClientMessage {
  std::string event;
  std::optional<std::string> channel;
  boost::json::value data;  // null when absent
};

// Any text frame: a JSON object with a string `event`, optional string `channel`, any `data`.
Parsed<ClientMessage> parse_client_message(std::string_view text);

struct SubscribeRequest {
  std::string channel;
  std::optional<std::string> auth;
  std::optional<std::string> channel_data;
};
// `data` of pusher:subscribe (an object, or a JSON string of one, as old clients send).
Parsed<SubscribeRequest> read_subscribe(const boost::json::value& data);
// `data` of pusher:unsubscribe: the channel name.
Parsed<std::string> read_unsubscribe(const boost::json::value& data);

struct SigninRequest {
  std::string auth;
  std::string user_data;
};
Parsed<SigninRequest> read_signin(const boost::json::value& data);

// The identity in a presence channel's channel_data: {"user_id": string|number, "user_info"?}.
struct PresenceIdentity {
  std::string user_id;    // numbers normalised to their decimal text: 10 and "10" are one user
  std::string user_info;  // JSON text of user_info, "null" when absent
};
enum class IdentityError { None, Malformed, BadUserId, UserInfoNotObject, UserInfoTooLarge };
struct IdentityResult {
  IdentityError error = IdentityError::None;
  std::string message;
  PresenceIdentity identity;
};
IdentityResult parse_channel_data(std::string_view channel_data, std::size_t max_user_id_length,
                                  std::size_t max_user_info_bytes);

// A user id given as JSON: a string, or an integer (10 and "10" are the same user).
std::optional<std::string> user_id_from_json(const boost::json::value& v);

// The user in pusher:signin's user_data: {"id": non-empty string, "user_info"?, "watchlist"?}.
struct UserData {
  std::string id;
  std::vector<std::string> watchlist;  // user ids whose online/offline this user follows
};
// pusher:signin's user_data: {"id": non-empty string, "user_info"?, "watchlist"?: [ids]}.
Parsed<UserData> parse_user_data(std::string_view user_data, std::size_t max_user_id_length);

// ---- Messages the server sends (the text of one WebSocket message each) ----

std::string connection_established(std::string_view socket_id, std::uint32_t activity_timeout_s);
std::string ping();
std::string pong();
// `code` 0 leaves the code out (errors that are not protocol error codes).
std::string error(std::uint16_t code, std::string_view message);
std::string subscription_succeeded(std::string_view channel);
// `presence_data` is the JSON text {"presence":{...}} from presence_snapshot.
std::string presence_subscription_succeeded(std::string_view channel,
                                            std::string_view presence_data);
std::string subscription_error(std::string_view channel, std::string_view type,
                               std::string_view message, int status);
std::string member_added(std::string_view channel, std::string_view user_id,
                         std::string_view user_info_json);
std::string member_removed(std::string_view channel, std::string_view user_id);
// greendot's own: a member's status changed ("online" or "away"). Bind it with pusher-js as
// channel.bind('greendot:member_updated', ({user_id, status}) => ...).
std::string member_updated(std::string_view channel, std::string_view user_id,
                           std::string_view status);
std::string signin_success(std::string_view user_data);
// pusher_internal:watchlist_events with one event, "online" or "offline", for these users.
std::string watchlist_event(std::string_view name, const std::vector<std::string>& user_ids);
// A channel event; `data_json` is JSON text (a string literal for REST events, any value for
// client events); `user_id` is added when not empty (client events on presence channels).
std::string channel_event(std::string_view event, std::string_view channel,
                          std::string_view data_json, std::string_view user_id = {});

// Builds {"presence":{"ids":[...],"hash":{...},"count":n}} incrementally; kept per channel by
// the engine so that a joiner costs a copy of the text, not escaping every member again.
class PresenceSnapshot {
 public:
  void add(std::string_view user_id, std::string_view user_info_json);
  std::string str() const;

 private:
  std::string ids_;
  std::string hash_;
  std::size_t count_ = 0;
};

}  // namespace greendot::protocol::pusher
