#include "api/routes.hpp"

#include <array>
#include <chrono>

#include "api/client_api.hpp"
#include "api/dashboard_api.hpp"
#include "api/demo_api.hpp"
#include "api/metrics_api.hpp"
#include "api/presence_api.hpp"
#include "api/pusher_rest_api.hpp"
#include "api/web_pages.hpp"
#include "auth/app_signature.hpp"
#include "auth/operator_auth.hpp"
#include "auth/origin_policy.hpp"
#include "auth/page_token.hpp"
#include "protocol/json_text.hpp"

namespace greendot::api {

namespace {

using auth::kTokenInBody;
using auth::kTokenInHeader;
using auth::kTokenInQuery;

void health(ApiCall&, Respond respond) {
  respond({200, R"({"status":"ok"})", {}});
}

// For load balancers and orchestrators: 503 while the engine cannot serve (Redis out of reach),
// where /health says only that the process answers.
void ready(ApiCall& call, Respond respond) {
  if (call.context.engine.ready()) return respond({200, R"({"status":"ready"})", {}});
  respond(
      {503,
       R"({"status":"not ready","error":"presence is unavailable: the engine cannot reach its store"})",
       {}});
}

void websocket_only(ApiCall&, Respond respond) {
  respond(rest_error(426,
                     "This endpoint only accepts WebSocket connections "
                     "(Connection: Upgrade, Upgrade: websocket)"));
}

constexpr Credential kNone = Credential::None;
constexpr Credential kSigned = Credential::AppSignature;
constexpr Credential kToken = Credential::UserToken;
constexpr Credential kOperator = Credential::Operator;
constexpr RouteKind kAnswer = RouteKind::Answer;

// The order matters only between patterns that could both match, and none can: every pattern
// differs from the others of its length in a literal segment.
constexpr std::array kRoutes{
    Route{"/health", "GET, HEAD", kNone, 0, false, kAnswer, health},
    Route{"/ready", "GET, HEAD", kNone, 0, false, kAnswer, ready},
    Route{"/metrics", "GET", kOperator, 0, false, kAnswer, metrics},
    Route{"/app/{}", "GET", kNone, 0, false, RouteKind::WebSocket, websocket_only},
    // The Pusher REST API, for the application backend and the official SDKs.
    Route{"/apps/{app}/events", "POST", kSigned, 0, false, kAnswer, post_events},
    Route{"/apps/{app}/batch_events", "POST", kSigned, 0, false, kAnswer, post_batch_events},
    Route{"/apps/{app}/channels", "GET", kSigned, 0, false, kAnswer, get_channels},
    Route{"/apps/{app}/channels/{}", "GET", kSigned, 0, false, kAnswer, get_channel},
    Route{"/apps/{app}/channels/{}/users", "GET", kSigned, 0, false, kAnswer, get_channel_users},
    Route{"/apps/{app}/users/{}/terminate_connections", "POST", kSigned, 0, false, kAnswer,
          terminate_user_connections},
    // greendot's presence API for the backend, signed the same way.
    Route{"/apps/{app}/presence/heartbeat", "POST", kSigned, 0, false, kAnswer, signed_heartbeat},
    Route{"/apps/{app}/presence/offline", "POST", kSigned, 0, false, kAnswer, signed_offline},
    Route{"/apps/{app}/users/presence", "POST", kSigned, 0, false, kAnswer, users_presence},
    Route{"/apps/{app}/users/{}/privacy", "GET, PUT", kSigned, 0, false, kAnswer, user_privacy},
    // For pages, with a user token. The token goes in the Authorization header, except where a
    // browser cannot send one: EventSource (the query) and sendBeacon (the body).
    Route{"/apps/{app}/client/ping", "POST", kToken, kTokenInHeader, true, kAnswer, client_ping},
    Route{"/apps/{app}/client/offline", "POST", kToken, kTokenInHeader | kTokenInBody, true,
          kAnswer, client_offline},
    Route{"/apps/{app}/client/users", "GET", kToken, kTokenInHeader, true, kAnswer, client_users},
    Route{"/apps/{app}/client/stream", "GET", kToken, kTokenInHeader | kTokenInQuery, true,
          RouteKind::Stream, nullptr},
    // Files of web/, from memory: the browser library, the demo (when configured), the dashboard.
    Route{"/greendot.js", "GET, HEAD", kNone, 0, false, kAnswer, serve_library},
    Route{"/greendot.d.ts", "GET, HEAD", kNone, 0, false, kAnswer, serve_library},
    Route{"/greendot/{}/greendot.js", "GET, HEAD", kNone, 0, false, kAnswer,
          serve_versioned_library},
    Route{"/", "GET, HEAD", kNone, 0, false, kAnswer, serve_demo_file},
    Route{"/demo/{}", "GET, HEAD", kNone, 0, false, kAnswer, serve_demo_file},
    Route{"/demo/api/token", "POST", kNone, 0, false, kAnswer, demo_token},
    Route{"/demo/api/auth", "POST", kNone, 0, false, kAnswer, demo_channel_auth},
    Route{"/dashboard", "GET, HEAD", kOperator, 0, false, kAnswer, serve_dashboard_file},
    Route{"/dashboard/{}", "GET, HEAD", kOperator, 0, false, kAnswer, serve_dashboard_file},
    Route{"/dashboard/api/stream", "GET", kOperator, 0, false, RouteKind::DashboardStream, nullptr},
    Route{"/dashboard/api/members", "GET", kOperator, 0, false, kAnswer, dashboard_members},
};

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.starts_with('/')) path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// Each route's pattern in segments, split once: every request is matched against them.
const std::vector<std::vector<std::string_view>>& route_segments() {
  static const auto split = [] {
    std::vector<std::vector<std::string_view>> all;
    all.reserve(kRoutes.size());
    for (const auto& route : kRoutes) all.push_back(segments(route.pattern));
    return all;
  }();
  return split;
}

// Matches a path against a pattern's segments; fills the app id and the {} segments.
bool matches(const std::vector<std::string_view>& wanted, const std::vector<std::string_view>& path,
             std::string_view& app_id, std::vector<std::string>& params) {
  if (wanted.size() != path.size()) return false;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i] == "{app}" || wanted[i] == "{}") {
      if (path[i].empty()) return false;
    } else if (wanted[i] != path[i]) {
      return false;
    }
  }
  params.clear();
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i] == "{app}") app_id = path[i];
    if (wanted[i] == "{}") params.emplace_back(path[i]);
  }
  return true;
}

bool method_allowed(std::string_view methods, std::string_view method) {
  while (!methods.empty()) {
    auto comma = methods.find(',');
    std::string_view item = methods.substr(0, comma);
    while (item.starts_with(' ')) item.remove_prefix(1);
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    methods.remove_prefix(comma + 1);
  }
  return false;
}

Resolution refuse(RestResponse response, const RestRequest& request, const Route& route) {
  if (route.for_pages) auth::add_cors_headers(response.headers, request.origin);
  return Resolution{std::move(response), std::nullopt};
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RestResponse rest_error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  protocol::append_json_string(body, message);
  body.push_back('}');
  return {status, std::move(body), {}};
}

RestResponse engine_unavailable() {
  return rest_error(503, "Presence is unavailable right now; try again shortly");
}

std::span<const Route> routes() {
  return kRoutes;
}

Resolution resolve(server::ServerContext& context, const RestRequest& request) {
  const auto path = segments(request.path);
  std::string_view app_id;
  std::vector<std::string> params;
  const Route* route = nullptr;
  const auto& patterns = route_segments();
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (matches(patterns[i], path, app_id, params)) {
      route = &kRoutes[i];
      break;
    }
  }
  if (!route) {
    return Resolution{rest_error(404, "No such endpoint: " + request.method + " " + request.path),
                      std::nullopt};
  }
  core::AppIndex app = 0;
  const config::AppConfig* config = nullptr;
  if (!app_id.empty()) {
    config = context.apps.find_by_id(app_id, &app);
    if (!config) {
      return refuse(rest_error(404, "Unknown app id \"" + std::string(app_id) + "\""), request,
                    *route);
    }
    if (!config->enabled) return refuse(rest_error(403, "Application disabled"), request, *route);
  }
  // A preflight is answered whatever the origin: a refused origin then gets a readable 403 on
  // its real request rather than an opaque network error.
  if (route->for_pages && request.method == "OPTIONS") {
    std::string methods = std::string(route->methods) + ", OPTIONS";
    return Resolution{RestResponse{204, {}, auth::preflight_headers(request.origin, methods)},
                      std::nullopt};
  }
  if (!method_allowed(route->methods, request.method)) {
    RestResponse refusal =
        rest_error(405, "Use " + std::string(route->methods) + " for " + request.path);
    refusal.headers.emplace_back("Allow", std::string(route->methods));
    return refuse(std::move(refusal), request, *route);
  }
  if (route->for_pages && config && !auth::origin_allowed(*config, request.origin)) {
    auth::log_refused_origin(*config, request.origin);
    return refuse(
        rest_error(403, "Origin " + request.origin + " is not in this app's allowed_origins"),
        request, *route);
  }
  std::optional<protocol::UserToken> user;
  if (route->credential == Credential::Operator) {
    if (auto refusal = auth::operator_refusal(context.settings.web, request.authorization)) {
      return refuse(std::move(*refusal), request, *route);
    }
  } else if (route->credential == Credential::AppSignature) {
    if (auto problem = auth::app_signature_problem(request.method, request.path, request.query,
                                                   request.body, *config)) {
      return refuse(rest_error(401, *problem), request, *route);
    }
  } else if (route->credential == Credential::UserToken) {
    auto token = auth::find_token({request.authorization, &request.query, request.body},
                                  route->token_places);
    if (auto* problem = std::get_if<auth::AuthProblem>(&token)) {
      return refuse(rest_error(problem->status, problem->message), request, *route);
    }
    auto verified = auth::verify_page_token(std::get<std::string>(token), *config, unix_seconds());
    if (auto* problem = std::get_if<auth::AuthProblem>(&verified)) {
      return refuse(rest_error(problem->status, problem->message), request, *route);
    }
    user = std::move(std::get<protocol::UserToken>(verified));
  }
  return Resolution{std::nullopt, ApiCall{context, request, *route, app, config, std::move(params),
                                          std::move(user)}};
}

std::vector<std::pair<std::string, std::string>> answer_headers(const ApiCall& call) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (call.route.for_pages) auth::add_cors_headers(headers, call.request.origin);
  return headers;
}

void answer(ApiCall& call, Respond respond) {
  if (!call.route.for_pages || call.request.origin.empty()) {
    return call.route.handler(call, std::move(respond));
  }
  call.route.handler(
      call, [origin = call.request.origin, respond = std::move(respond)](RestResponse response) {
        auth::add_cors_headers(response.headers, origin);
        respond(std::move(response));
      });
}

}  // namespace greendot::api
