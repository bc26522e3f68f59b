#include "api/demo_api.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <chrono>

#include "auth/page_token.hpp"
#include "protocol/signature.hpp"
#include "protocol/user_token.hpp"

namespace greendot::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kContext = "demo";
constexpr std::string_view kChannel = "presence-demo";
constexpr std::int64_t kTokenLifetimeS = 600;
constexpr std::size_t kMaxNameLength = 32;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The demo app, or the 404 that says the demo is off.
const config::AppConfig* demo_app(const ApiCall& call, Respond& respond) {
  const std::string& id = call.context.settings.web.demo_app;
  const config::AppConfig* app = id.empty() ? nullptr : call.context.apps.find_by_id(id, nullptr);
  if (!app) {
    respond(rest_error(404, "No such endpoint: " + call.request.method + " " + call.request.path +
                                " (the demo is on only when [web] demo_app is set)"));
  }
  return app;
}

// Letters (any script), digits, spaces, '-', '_' and '.': a name that is also a valid user id
// and safe to show.
bool acceptable_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name.front() == ' ' || name.back() == ' ') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u) || c == ' ' || c == '-' || c == '_' || c == '.';
  });
}

std::string form_value(std::string_view body, std::string_view key) {
  boost::urls::url url;
  url.set_encoded_query(body);
  for (auto param : url.params()) {
    if (param.key == key) return param.value;
  }
  return {};
}

}  // namespace

void demo_token(ApiCall& call, Respond respond) {
  const config::AppConfig* app = demo_app(call, respond);
  if (!app) return;
  boost::system::error_code ec;
  json::value body = json::parse(call.request.body, ec);
  const json::value* name =
      !ec && body.is_object() ? body.get_object().if_contains("name") : nullptr;
  if (!name || !name->is_string() || !acceptable_name(name->get_string())) {
    return respond(rest_error(400,
                              "Give {\"name\": ...}: 1 to 32 letters, digits, spaces, '-', '_' "
                              "or '.'"));
  }
  const std::string user(name->get_string());
  const std::int64_t now = unix_seconds();
  const std::int64_t lifetime = std::min<std::int64_t>(kTokenLifetimeS, app->max_token_lifetime_s);
  json::object claims{
      {"sub", user}, {"aud", app->id},        {"contexts", json::array{kContext}},
      {"iat", now},  {"exp", now + lifetime}, {"user_info", json::object{{"name", user}}}};
  json::object answer{{"token", protocol::sign_user_token(json::serialize(claims), app->secret)},
                      {"user_id", user},
                      {"app", app->id},
                      {"key", app->key},
                      {"context", kContext}};
  respond({200, json::serialize(answer), {}});
}

void demo_channel_auth(ApiCall& call, Respond respond) {
  const config::AppConfig* app = demo_app(call, respond);
  if (!app) return;
  auto token = auth::find_token({call.request.authorization, nullptr, {}}, auth::kTokenInHeader);
  if (auto* problem = std::get_if<auth::AuthProblem>(&token)) {
    return respond(rest_error(problem->status, problem->message));
  }
  auto user = auth::verify_page_token(std::get<std::string>(token), *app, unix_seconds());
  if (auto* problem = std::get_if<auth::AuthProblem>(&user)) {
    return respond(rest_error(problem->status, problem->message));
  }
  const std::string socket_id = form_value(call.request.body, "socket_id");
  const std::string channel = form_value(call.request.body, "channel_name");
  if (socket_id.empty() || channel != kChannel) {
    return respond(rest_error(
        403, "The demo signs only presence-demo subscriptions (give socket_id and channel_name)"));
  }
  const auto& verified = std::get<protocol::UserToken>(user);
  const std::string channel_data = json::serialize(
      json::object{{"user_id", verified.user_id}, {"user_info", json::parse(verified.user_info)}});
  const std::string auth_value =
      app->key + ":" +
      protocol::hmac_sha256_hex(
          app->secret, protocol::presence_string_to_sign(socket_id, channel, channel_data));
  respond({200,
           json::serialize(json::object{{"auth", auth_value}, {"channel_data", channel_data}}),
           {}});
}

}  // namespace greendot::api
