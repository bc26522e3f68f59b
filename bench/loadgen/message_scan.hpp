// Classifies server messages without a JSON parser. A join storm delivers millions of small
// frames to the load generator, which shares the cores with the server: reading each one with
// a full parse would make the generator, not the server, the thing being measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

enum class ServerEvent {
  ConnectionEstablished,
  SubscriptionSucceeded,
  SubscriptionError,
  MemberAdded,
  MemberRemoved,
  Ping,
  Pong,
  Error,
  SigninSuccess,
  Other,  // channel events: REST triggers, client events
};

// Every server message starts with {"event":"<name>" (greendot writes them that way).
ServerEvent classify(std::string_view text);
// The first unsigned integer after `key` (skipping quotes, backslashes, colons and spaces).
std::optional<std::uint64_t> number_after(std::string_view text, std::string_view key);
// socket_id from pusher:connection_established.
std::string socket_id_of(std::string_view text);
// The user id in member_added / member_removed data.
std::string user_id_of(std::string_view text);

}  // namespace bench
