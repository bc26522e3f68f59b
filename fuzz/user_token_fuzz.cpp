// Arbitrary text as a user token (JWT HS256), and as the payload of one. Besides crashes, leaks
// and undefined behaviour, it checks that a token is only ever accepted when it carries the
// secret's signature over exactly its text, that an accepted token names a user within the
// limit and has not expired, that the app's checks (aud, lifetime) hold for every token the
// page endpoints accept and that its contexts claim opens nothing it does not list, and that
// base64url decoding undoes encoding.
#include "auth/page_token.hpp"
#include "protocol/user_token.hpp"

#include <algorithm>
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

greendot::config::AppConfig fuzz_app() {
  greendot::config::AppConfig app;
  app.id = "fuzz-app";
  app.secret = std::string(kSecret);
  app.max_user_id_length = kMaxUserIdLength;
  app.max_token_lifetime_s = 3600;
  return app;
}

// What the page endpoints accept: made for this app, within its lifetime, and opening only
// the contexts its claim names.
void check_page_token(const std::string& token, std::string_view context) {
  static const greendot::config::AppConfig app = fuzz_app();
  const auto verdict = greendot::auth::verify_page_token(token, app, kNow);
  const auto* user = std::get_if<proto::UserToken>(&verdict);
  if (!user) return;
  check_accepted(*user);
  check(std::find(user->audiences.begin(), user->audiences.end(), app.id) != user->audiences.end());
  check(user->expires_s - kNow <= app.max_token_lifetime_s);
  if (user->issued_s) check(user->expires_s - *user->issued_s <= app.max_token_lifetime_s);
  if (!greendot::auth::token_opens(*user, context)) return;
  check(std::any_of(user->contexts.begin(), user->contexts.end(), [&](const std::string& scope) {
    return scope == context || (!scope.empty() && scope.back() == '*' &&
                                context.substr(0, scope.size() - 1) ==
                                    std::string_view(scope).substr(0, scope.size() - 1));
  }));
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
  check_page_token(signed_token, text.substr(0, std::min<std::size_t>(text.size(), 24)));
  check_page_token(signed_token, "chat.42");
  const std::string forged = proto::sign_user_token(text, "another-secret");
  check(std::holds_alternative<proto::TokenProblem>(
      proto::verify_user_token(forged, kSecret, kNow, kMaxUserIdLength)));

  // base64url round trip.
  const auto decoded = proto::base64url_decode(proto::base64url_encode(text));
  check(std::holds_alternative<std::string>(decoded) && std::get<std::string>(decoded) == text);
  return 0;
}
