// Arbitrary text into the readers of what Pusher clients send: the message envelope, then
// its data as pusher:subscribe, pusher:unsubscribe and pusher:signin, and the same text as a
// presence channel_data and as signin user_data. Besides crashes, leaks and undefined
// behaviour, it checks what the connection code relies on: a refusal always says why, an
// accepted identity is a valid user id within the limit with user_info null or an object within
// its limit, and the readers of subscribe and unsubscribe agree on the channel. Channel names
// are not the readers' job (the connection classifies them), so an empty one may pass here.
#include "core/channel_name.hpp"
#include "protocol/pusher_messages.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <system_error>
#include <variant>

namespace pusher = greendot::protocol::pusher;

namespace {

constexpr std::size_t kMaxUserIdLength = 16;
constexpr std::size_t kMaxUserInfoBytes = 64;

void check(bool condition) {
  if (!condition) std::abort();
}

// The accepted value, or nothing after checking that the refusal says why. The result must
// outlive the pointer: callers keep it in a named variable, never a temporary.
template <class T>
const T* accepted(const pusher::Parsed<T>& parsed) {
  if (const auto* problem = std::get_if<pusher::Problem>(&parsed)) {
    check(!problem->message.empty());
    return nullptr;
  }
  return &std::get<T>(parsed);
}

bool valid_user_id(std::string_view id) {
  return greendot::core::valid_user_id(id, kMaxUserIdLength);
}

void read_as_data(const boost::json::value& data) {
  const auto subscribe_result = pusher::read_subscribe(data);
  const auto unsubscribe_result = pusher::read_unsubscribe(data);
  const auto* unsubscribe = accepted(unsubscribe_result);
  if (const auto* subscribe = accepted(subscribe_result)) {
    check(unsubscribe != nullptr && *unsubscribe == subscribe->channel);
  }
  const auto signin_result = pusher::read_signin(data);
  accepted(signin_result);
}

void check_identity(std::string_view text) {
  const auto result = pusher::parse_channel_data(text, kMaxUserIdLength, kMaxUserInfoBytes);
  if (result.error != pusher::IdentityError::None) {
    check(!result.message.empty());
    return;
  }
  check(valid_user_id(result.identity.user_id));
  const std::string& info = result.identity.user_info;
  check(info.size() <= kMaxUserInfoBytes);
  if (info != "null") {
    std::error_code ec;
    const boost::json::value parsed = boost::json::parse(info, ec);
    check(!ec && parsed.is_object());
  }
}

void check_user_data(std::string_view text) {
  const auto result = pusher::parse_user_data(text, kMaxUserIdLength);
  if (const auto* user = accepted(result)) {
    check(valid_user_id(user->id));
    for (const auto& watched : user->watchlist) check(valid_user_id(watched));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);

  const auto message_result = pusher::parse_client_message(text);
  if (const auto* message = accepted(message_result)) {
    read_as_data(message->data);
  }
  check_identity(text);
  check_user_data(text);
  return 0;
}
