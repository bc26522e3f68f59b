#include "engine/redis/channel_event.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>
#include <vector>

namespace greendot::engine::redis_engine {

namespace {

// The header's space-separated words, and the bytes after its newline.
bool split_header(std::string_view payload, std::vector<std::string_view>& words,
                  std::string_view& rest) {
  const auto newline = payload.find('\n');
  if (newline == std::string_view::npos) return false;
  std::string_view header = payload.substr(0, newline);
  rest = payload.substr(newline + 1);
  while (!header.empty()) {
    const auto space = header.find(' ');
    words.push_back(header.substr(0, space));
    if (space == std::string_view::npos) break;
    header.remove_prefix(space + 1);
  }
  return true;
}

bool number(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string socket_or_empty(std::string_view word) {
  return word == "-" ? std::string() : std::string(word);
}

}  // namespace

std::optional<ChannelEvent> parse_channel_event(std::string_view payload) {
  std::vector<std::string_view> words;
  std::string_view rest;
  if (!split_header(payload, words, rest) || words.size() != 5) return std::nullopt;
  std::uint64_t user_length = 0;
  if (!number(words[4], user_length) || user_length > rest.size()) return std::nullopt;
  ChannelEvent event;
  event.user = std::string(rest.substr(0, user_length));
  event.body = std::string(rest.substr(user_length));
  static constexpr std::pair<std::string_view, ChannelEvent::Kind> kMemberKinds[] = {
      {"a", ChannelEvent::Kind::MemberAdded},   {"r", ChannelEvent::Kind::MemberRemoved},
      {"h", ChannelEvent::Kind::MemberHidden},  {"s", ChannelEvent::Kind::MemberShown},
      {"g", ChannelEvent::Kind::MemberInGrace}, {"b", ChannelEvent::Kind::MemberBack}};
  const auto* kind = std::find_if(std::begin(kMemberKinds), std::end(kMemberKinds),
                                  [&](const auto& k) { return k.first == words[0]; });
  if (kind != std::end(kMemberKinds)) {
    event.kind = kind->second;
    event.epoch = std::string(words[1]);
    if (event.epoch.empty() || !number(words[2], event.version)) return std::nullopt;
    event.except = socket_or_empty(words[3]);
    return event;
  }
  if (words[0] == "m") {
    event.kind = ChannelEvent::Kind::Message;
    event.origin = std::string(words[1]);
    event.except = socket_or_empty(words[2]);
    if (event.origin.empty() || !number(words[3], event.joined_after)) return std::nullopt;
    return event;
  }
  return std::nullopt;
}

std::string encode_message(std::string_view origin, std::string_view except,
                           std::uint64_t joined_after, std::string_view except_user,
                           std::string_view text) {
  std::string out = "m ";
  out.append(origin).push_back(' ');
  out.append(except.empty() ? std::string_view("-") : except).push_back(' ');
  out.append(std::to_string(joined_after)).push_back(' ');
  out.append(std::to_string(except_user.size())).push_back('\n');
  out.append(except_user).append(text);
  return out;
}

std::optional<ControlMessage> parse_control_message(std::string_view payload) {
  std::vector<std::string_view> words;
  std::string_view rest;
  if (!split_header(payload, words, rest) || words.size() != 3 || words[0] != "t") {
    return std::nullopt;
  }
  std::uint64_t app_length = 0;
  if (!number(words[2], app_length) || app_length > rest.size()) return std::nullopt;
  return ControlMessage{std::string(words[1]), std::string(rest.substr(0, app_length)),
                        std::string(rest.substr(app_length))};
}

std::string encode_terminate(std::string_view origin, std::string_view app_id,
                             std::string_view user) {
  std::string out = "t ";
  out.append(origin).push_back(' ');
  out.append(std::to_string(app_id.size())).push_back('\n');
  out.append(app_id).append(user);
  return out;
}

}  // namespace greendot::engine::redis_engine
