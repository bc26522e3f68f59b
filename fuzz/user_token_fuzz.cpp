// Arbitrary text as a user token (JWT HS256), and as the payload of one. Besides crashes, leaks
// and undefined behaviour, it checks that a token is only ever accepted when it carries the
// secret's signature over exactly its text, that an accepted token names a user within the
// limit and has not expired, and that base64url decoding undoes encoding.
#include "protocol/user_token.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

namespace proto = greendot::protocol;

namespace {

constexpr std::string_view kSecret = "fuzz-secret";
constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::size_t kMaxUserIdLength = 16;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_accepted(const proto::UserToken& token) {
  check(!token.user_id.empty() && token.user_id.size() <= kMaxUserIdLength);
  check(token.expires_s > kNow);
  check(!token.user_info.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);

  // As a token: with the real secret it may pass only if it was signed with it, which random
  // text practically never is; with another secret it must never pass.
  const auto as_token = proto::verify_user_token(text, kSecret, kNow, kMaxUserIdLength);
  if (const auto* token = std::get_if<proto::UserToken>(&as_token)) check_accepted(*token);
  check(std::holds_alternative<proto::TokenProblem>(
            proto::verify_user_token(text, "another-secret", kNow, kMaxUserIdLength)) ||
        std::holds_alternative<proto::TokenProblem>(as_token));

  // As the payload of a token signed with the secret: the signature is right, so the verdict
  // is about the claims alone, and the same text signed with another secret is refused.
  const std::string signed_token = proto::sign_user_token(text, kSecret);
  const auto as_payload = proto::verify_user_token(signed_token, kSecret, kNow, kMaxUserIdLength);
  if (const auto* token = std::get_if<proto::UserToken>(&as_payload)) check_accepted(*token);
  const std::string forged = proto::sign_user_token(text, "another-secret");
  check(std::holds_alternative<proto::TokenProblem>(
      proto::verify_user_token(forged, kSecret, kNow, kMaxUserIdLength)));

  // base64url round trip.
  const auto decoded = proto::base64url_decode(proto::base64url_encode(text));
  check(std::holds_alternative<std::string>(decoded) && std::get<std::string>(decoded) == text);
  return 0;
}
