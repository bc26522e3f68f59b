// Arbitrary text into the readers of what Pusher clients send: the message envelope, then
// its data as pusher:subscribe, pusher:unsubscribe and pusher:signin, and the same text as a
// presence channel_data and as signin user_data. Besides crashes, leaks and undefined
// behaviour, it checks what the connection code relies on: a refusal always says why, and an
// accepted identity is never empty nor longer than the limit.
#include "protocol/pusher_messages.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace pusher = greendot::protocol::pusher;

namespace {

constexpr std::size_t kMaxUserIdLength = 16;
constexpr std::size_t kMaxUserInfoBytes = 64;

void check(bool condition) {
  if (!condition) std::abort();
}

template <class T>
const T* accepted(const pusher::Parsed<T>& parsed) {
  if (const auto* problem = std::get_if<pusher::Problem>(&parsed)) {
    check(!problem->message.empty());
    return nullptr;
  }
  return &std::get<T>(parsed);
}

void read_as_data(const boost::json::value& data) {
  if (const auto* subscribe = accepted(pusher::read_subscribe(data))) {
    check(!subscribe->channel.empty());
  }
  if (const auto* channel = accepted(pusher::read_unsubscribe(data))) check(!channel->empty());
  accepted(pusher::read_signin(data));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);

  if (const auto* message = accepted(pusher::parse_client_message(text))) {
    read_as_data(message->data);
  }

  const auto identity = pusher::parse_channel_data(text, kMaxUserIdLength, kMaxUserInfoBytes);
  if (identity.error == pusher::IdentityError::None) {
    check(!identity.identity.user_id.empty());
    check(identity.identity.user_id.size() <= kMaxUserIdLength);
    check(identity.identity.user_info.size() <= kMaxUserInfoBytes);
  } else {
    check(!identity.message.empty());
  }

  if (const auto* user = accepted(pusher::parse_user_data(text, kMaxUserIdLength))) {
    check(!user->id.empty() && user->id.size() <= kMaxUserIdLength);
    for (const auto& watched : user->watchlist) {
      check(!watched.empty() && watched.size() <= kMaxUserIdLength);
    }
  }
  return 0;
}
