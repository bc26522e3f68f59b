#include "auth/page_token.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>

namespace greendot::auth {

namespace json = boost::json;

namespace {

// Clocks of the application's servers and greendot's may disagree a little.
constexpr std::int64_t kClockSkewS = 60;

std::string_view query_token(const protocol::QueryParams* query) {
  if (!query) return {};
  for (const auto& [key, value] : *query) {
    if (key == "token") return value;
  }
  return {};
}

// The whole body as a token (sendBeacon's text/plain), or the "token" of a JSON object body.
std::variant<std::string, AuthProblem> body_token(std::string_view body) {
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) {
    body.remove_suffix(1);
  }
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) {
    body.remove_prefix(1);
  }
  if (body.empty()) return std::string();
  if (body.front() != '{') return std::string(body);
  std::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return AuthProblem{400, "Invalid JSON body: " + ec.message()};
  if (!value.is_object()) return std::string();  // the handler reports the bad body
  const json::value* token = value.get_object().if_contains("token");
  if (!token) return std::string();
  if (!token->is_string()) return AuthProblem{400, "\"token\" must be a string"};
  return std::string(token->get_string());
}

std::string where_allowed(unsigned allowed) {
  std::string places = "Authorization: Bearer <token>";
  if (allowed & kTokenInQuery) places += " or ?token=<token>";
  if (allowed & kTokenInBody) places += " or the request body";
  return places;
}

}  // namespace

std::variant<std::string, AuthProblem> find_token(const TokenSources& sources, unsigned allowed) {
  constexpr std::string_view kBearer = "Bearer ";
  if (sources.authorization.starts_with(kBearer)) {
    return std::string(sources.authorization.substr(kBearer.size()));
  }
  if (!sources.authorization.empty()) {
    return AuthProblem{401, "The Authorization header must be \"Bearer <token>\""};
  }
  if (!query_token(sources.query).empty()) {
    if (!(allowed & kTokenInQuery)) {
      return AuthProblem{400,
                         "A token in the URL is only accepted by the SSE stream (EventSource "
                         "cannot send headers); send Authorization: Bearer <token>"};
    }
    return std::string(query_token(sources.query));
  }
  if (allowed & kTokenInBody) {
    auto found = body_token(sources.body);
    if (std::holds_alternative<AuthProblem>(found) || !std::get<std::string>(found).empty()) {
      return found;
    }
  }
  return AuthProblem{401, "A user token is needed: " + where_allowed(allowed)};
}

std::variant<protocol::UserToken, AuthProblem> verify_page_token(std::string_view token,
                                                                 const config::AppConfig& app,
                                                                 std::int64_t now_s) {
  auto verified = protocol::verify_user_token(token, app.secret, now_s, app.max_user_id_length);
  if (auto* problem = std::get_if<protocol::TokenProblem>(&verified)) {
    return AuthProblem{401, problem->message};
  }
  auto& user = std::get<protocol::UserToken>(verified);
  // A token made for another app (which may share the secret) must not open this one.
  if (std::find(user.audiences.begin(), user.audiences.end(), app.id) == user.audiences.end()) {
    return AuthProblem{401, "The token's aud must name this app (\"" + app.id + "\")"};
  }
  const std::int64_t max_lifetime = app.max_token_lifetime_s;
  if (user.expires_s - now_s > max_lifetime) {
    return AuthProblem{401, "The token lives longer than this app's max_token_lifetime_s (" +
                                std::to_string(max_lifetime) + " s): give it an earlier exp"};
  }
  if (user.issued_s) {
    if (*user.issued_s > now_s + kClockSkewS) {
      return AuthProblem{401, "The token's iat is in the future"};
    }
    if (user.expires_s - *user.issued_s > max_lifetime) {
      return AuthProblem{401, "exp - iat is longer than this app's max_token_lifetime_s (" +
                                  std::to_string(max_lifetime) + " s)"};
    }
  }
  if (user.user_info.size() > app.max_user_info_bytes) {
    return AuthProblem{413, "The token's user_info is larger than " +
                                std::to_string(app.max_user_info_bytes) + " bytes"};
  }
  return std::move(user);
}

bool token_opens(const protocol::UserToken& token, std::string_view context) {
  return std::any_of(token.contexts.begin(), token.contexts.end(), [&](const std::string& scope) {
    if (scope.ends_with('*')) {
      return context.starts_with(std::string_view(scope).substr(0, scope.size() - 1));
    }
    return scope == context;
  });
}

}  // namespace greendot::auth
