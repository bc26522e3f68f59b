#include "message_scan.hpp"

namespace bench {

namespace {

constexpr std::string_view kPrefix = R"({"event":")";

// The string value that follows `key` in escaped or plain JSON: key\":\"VALUE\" or "key":"VALUE".
std::string string_after(std::string_view text, std::string_view key) {
  auto at = text.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  while (at < text.size() && (text[at] == '"' || text[at] == '\\' || text[at] == ':')) ++at;
  auto end = at;
  while (end < text.size() && text[end] != '"' && text[end] != '\\') ++end;
  return std::string(text.substr(at, end - at));
}

}  // namespace

ServerEvent classify(std::string_view text) {
  if (!text.starts_with(kPrefix)) return ServerEvent::Other;
  text.remove_prefix(kPrefix.size());
  const auto end = text.find('"');
  const std::string_view name = text.substr(0, end);
  if (name == "pusher_internal:member_added") return ServerEvent::MemberAdded;
  if (name == "pusher_internal:member_removed") return ServerEvent::MemberRemoved;
  if (name == "pusher_internal:subscription_succeeded") return ServerEvent::SubscriptionSucceeded;
  if (name == "pusher:connection_established") return ServerEvent::ConnectionEstablished;
  if (name == "pusher:ping") return ServerEvent::Ping;
  if (name == "pusher:pong") return ServerEvent::Pong;
  if (name == "pusher:subscription_error") return ServerEvent::SubscriptionError;
  if (name == "pusher:error") return ServerEvent::Error;
  if (name == "pusher:signin_success") return ServerEvent::SigninSuccess;
  return ServerEvent::Other;
}

std::optional<std::uint64_t> number_after(std::string_view text, std::string_view key) {
  auto at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  at += key.size();
  while (at < text.size() &&
         (text[at] == '"' || text[at] == '\\' || text[at] == ':' || text[at] == ' ')) {
    ++at;
  }
  if (at >= text.size() || text[at] < '0' || text[at] > '9') return std::nullopt;
  std::uint64_t value = 0;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    value = value * 10 + static_cast<std::uint64_t>(text[at++] - '0');
  }
  return value;
}

std::string socket_id_of(std::string_view text) {
  return string_after(text, "socket_id");
}

std::string user_id_of(std::string_view text) {
  return string_after(text, "user_id");
}

}  // namespace bench
