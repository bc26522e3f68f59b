#include "core/channel_name.hpp"

namespace greendot::core {

bool is_name_character(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '-':
    case '=':
    case '@':
    case ',':
    case '.':
    case ';':
      return true;
    default:
      return false;
  }
}

namespace {

bool all_name_characters(std::string_view s) {
  for (char c : s) {
    if (!is_name_character(c)) return false;
  }
  return true;
}

}  // namespace

bool valid_user_id(std::string_view id, std::size_t max_length) {
  return !id.empty() && id.size() <= max_length && all_name_characters(id);
}

std::optional<ChannelKind> classify_channel(std::string_view name) {
  if (name.empty() || name.size() > kMaxChannelNameLength) return std::nullopt;
  if (name.front() == '#') {
    if (!name.starts_with(kServerToUserPrefix)) return std::nullopt;
    std::string_view user = name.substr(kServerToUserPrefix.size());
    if (user.empty() || !all_name_characters(user)) return std::nullopt;
    return ChannelKind::ServerToUser;
  }
  if (!all_name_characters(name)) return std::nullopt;
  if (name.starts_with("private-encrypted-")) return ChannelKind::Encrypted;
  if (name.starts_with("private-")) return ChannelKind::Private;
  if (name.starts_with("presence-")) return ChannelKind::Presence;
  return ChannelKind::Public;
}

}  // namespace greendot::core
