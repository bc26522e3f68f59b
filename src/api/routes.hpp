// Every HTTP endpoint greendot serves, in one table: its path, methods, who may call it and how
// they prove it, and the handler that answers. Requests are checked here (app, method,
// credential, origin) before any handler runs, so that a handler only does its own job.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_message.hpp"
#include "config/settings.hpp"
#include "core/presence_book.hpp"
#include "protocol/user_token.hpp"
#include "server/server_context.hpp"

namespace greendot::api {

// Who may call a route, and with what.
enum class Credential {
  None,          // anyone (health, the WebSocket endpoint's plain-HTTP answer)
  AppSignature,  // the application backend: Pusher's REST signature with the app secret
  UserToken,     // a page: a user token (JWT) signed by the application with the app secret
  Operator,      // the dashboard: HTTP Basic with [web] dashboard_user and dashboard_password
};

enum class RouteKind {
  Answer,           // answered with one response by the handler
  Stream,           // the socket is taken over (Server-Sent Events); the transport opens it
  WebSocket,        // /app/{key}: the transport upgrades; a plain request gets 426
  DashboardStream,  // the dashboard's live stats (Server-Sent Events); the transport opens it
};

struct ApiCall;
using Handler = void (*)(ApiCall& call, Respond respond);

struct Route {
  std::string_view pattern;  // "/apps/{app}/channels/{}/users": {app} is the app id, {} any
  std::string_view methods;  // "GET", "GET, PUT"
  Credential credential;
  unsigned token_places;  // auth::TokenPlace bits, for Credential::UserToken
  bool for_pages;         // CORS: the app's allowed_origins, preflights answered
  RouteKind kind;
  Handler handler;  // for RouteKind::Answer
};

// A request that passed its route's checks, as its handler gets it.
struct ApiCall {
  server::ServerContext& context;
  const RestRequest& request;
  const Route& route;
  core::AppIndex app = 0;
  const config::AppConfig* config = nullptr;  // null on routes without {app}
  std::vector<std::string> params;            // the {} segments of the path, in order
  std::optional<protocol::UserToken> user;    // Credential::UserToken: the verified token
};

// The table (for documentation and tests).
std::span<const Route> routes();

// Finds the route of a request and checks it. `answer` is set when the request is answered
// already (refused, or a CORS preflight); otherwise `call` is ready for the route's handler.
struct Resolution {
  std::optional<RestResponse> answer;
  std::optional<ApiCall> call;
};
Resolution resolve(server::ServerContext& context, const RestRequest& request);

// Runs the handler of a resolved call; page routes' answers get their CORS headers.
void answer(ApiCall& call, Respond respond);

// The headers every answer of this call must carry (CORS on page routes), for answers the
// transport writes itself (a stream's head, its refusals).
std::vector<std::pair<std::string, std::string>> answer_headers(const ApiCall& call);

}  // namespace greendot::api
