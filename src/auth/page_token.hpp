// User tokens as pages present them: where a route lets a token be, and whether it is good
// for this app. The JWT codec is protocol/user_token; this is the policy around it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "config/settings.hpp"
#include "protocol/rest_signature.hpp"
#include "protocol/user_token.hpp"

namespace greendot::auth {

// Why a credential was refused, as the HTTP answer should say it.
struct AuthProblem {
  int status = 401;
  std::string message;
};

// Where a page may put its token. The Authorization header is the rule; the query string and
// the body only where a browser can send nothing else: EventSource sets no headers, and
// sendBeacon sends a text/plain body. A token in a URL ends up in access logs and history.
enum TokenPlace : unsigned {
  kTokenInHeader = 1,
  kTokenInQuery = 2,  // ?token=
  kTokenInBody = 4,   // the whole text/plain body, or {"token": ...}
};

struct TokenSources {
  std::string_view authorization;  // the Authorization header
  const protocol::QueryParams* query = nullptr;
  std::string_view body;
};

// The token of a request, looked for in the places allowed; a token in a place that is not
// allowed is refused with a message that says where it belongs.
std::variant<std::string, AuthProblem> find_token(const TokenSources& sources, unsigned allowed);

// Signature, expiry, `aud` (must name this app's id) and lifetime (`exp` at most the app's
// max_token_lifetime_s from now, and from `iat` when given).
std::variant<protocol::UserToken, AuthProblem> verify_page_token(std::string_view token,
                                                                 const config::AppConfig& app,
                                                                 std::int64_t now_s);

// Whether the token's `contexts` claim opens `context`: an exact name, or a prefix ending in
// '*' ("chat.*" opens "chat.42"; "*" opens every context).
bool token_opens(const protocol::UserToken& token, std::string_view context);

}  // namespace greendot::auth
