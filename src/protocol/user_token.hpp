// User tokens: short-lived JWTs (HS256) that the application signs with the app secret, so
// that a page can talk to greendot directly (heartbeats, status, streams) as one user.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace greendot::protocol {

struct UserToken {
  std::string user_id;    // `sub`; numbers normalised to their decimal text
  std::string user_info;  // JSON text of `user_info`, "null" when absent
  std::int64_t expires_s = 0;
  std::optional<std::int64_t> issued_s;  // `iat`, when present
  // `aud`: one string or an array of them (RFC 7519); empty when absent.
  std::vector<std::string> audiences;
  // `contexts`: the presence contexts the holder may join and watch, as names ("chat.42") or
  // prefixes ending in '*' ("chat.*"); empty when absent, which opens none.
  std::vector<std::string> contexts;
};

// What is wrong with a token, fit for a 401 body.
struct TokenProblem {
  std::string message;
};

// Checks the signature (HS256 only: the header's `alg` must say so, so that "none" or an
// asymmetric algorithm cannot be slipped in), `exp` (required, in the future), `nbf` if present,
// `sub` (a user id of at most `max_user_id_length` characters), and the shapes of `iat`, `aud`
// and `contexts`. Whether the token is meant for this app and this use is the caller's policy
// (auth/page_token).
std::variant<UserToken, TokenProblem> verify_user_token(std::string_view token,
                                                        std::string_view secret, std::int64_t now_s,
                                                        std::size_t max_user_id_length);

// Signs a token (used by tests and tools; applications use their JWT library).
std::string sign_user_token(std::string_view payload_json, std::string_view secret);

std::string base64url_encode(std::string_view bytes);
// Nothing on malformed input.
std::variant<std::string, TokenProblem> base64url_decode(std::string_view text);

}  // namespace greendot::protocol
