// Channel names and what their prefix makes them.
#pragma once

#include <optional>
#include <string_view>

namespace greendot::core {

enum class ChannelKind { Public, Private, Encrypted, Presence, ServerToUser };

inline constexpr std::size_t kMaxChannelNameLength = 164;
inline constexpr std::string_view kServerToUserPrefix = "#server-to-user-";

// The kind of a valid channel name, or nothing when the name is empty, longer than 164
// characters, or uses a character outside [A-Za-z0-9_-=@,.;] (Pusher's set). A leading '#' is
// only valid as `#server-to-user-{user id}`.
std::optional<ChannelKind> classify_channel(std::string_view name);

// Whether a channel of this kind needs a signature to subscribe.
inline bool needs_authorization(ChannelKind kind) {
  return kind == ChannelKind::Private || kind == ChannelKind::Encrypted ||
         kind == ChannelKind::Presence;
}

// The characters Pusher allows in channel names and user ids.
bool is_name_character(char c);

// A user id as Pusher allows it: 1..max_length characters of the name set.
bool valid_user_id(std::string_view id, std::size_t max_length);

}  // namespace greendot::core
