// What travels on a channel's pub/sub channel between nodes, as text:
//   member events, made by the scripts:  "a|r|h|s|g|b <epoch> <version> <except> <n>\n<user><info>"
//     (added, removed, hidden: an invisible user joined or a member went invisible, shown: a
//     member became visible again; the others see them come and go, they see no change;
//     grace: a member's last session ended, back: they returned inside the grace)
//   messages (triggers, client events):  "m <origin> <except> <joined_after> <n>\n<user><text>"
// where <n> is the byte length of the user id that follows (a member's; for a message the one
// user not to deliver to, possibly empty) and "-" stands for no excepted socket. Lengths rather
// than separators: user ids and JSON may hold any byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace greendot::engine::redis_engine {

struct ChannelEvent {
  enum class Kind {
    MemberAdded,
    MemberRemoved,
    MemberHidden,
    MemberShown,
    MemberInGrace,
    MemberBack,
    Message
  };
  Kind kind = Kind::Message;
  std::string epoch;               // member events
  std::uint64_t version = 0;       // member events
  std::string origin;              // messages: the node that published it
  std::uint64_t joined_after = 0;  // messages
  std::string except;              // a socket id, or empty
  std::string user;                // the member; for a message, the user not to deliver to
  std::string body;  // user_info JSON (added, shown, back), the message text (message)
};

// Nothing for a payload that is not one of these (a newer node's kind, or garbage).
std::optional<ChannelEvent> parse_channel_event(std::string_view payload);

std::string encode_message(std::string_view origin, std::string_view except,
                           std::uint64_t joined_after, std::string_view except_user,
                           std::string_view text);

// On the control channel: "t <origin> <n>\n<app id><user>", terminate a user's connections.
struct ControlMessage {
  std::string origin;
  std::string app_id;
  std::string user;
};
std::optional<ControlMessage> parse_control_message(std::string_view payload);
std::string encode_terminate(std::string_view origin, std::string_view app_id,
                             std::string_view user);

}  // namespace greendot::engine::redis_engine
