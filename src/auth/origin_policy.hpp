// CORS for the endpoints pages call: which origins an app lets in, the headers that let a page
// read greendot's answers, and a log line when an origin is turned away.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.hpp"

namespace greendot::auth {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A request without an Origin header is not cross-origin (or not from a browser).
bool origin_allowed(const config::AppConfig& app, std::string_view origin);

// Lets the page of `origin` read the answer. Also sent with refusals, the refusal of an origin
// included: a page must be able to read why it was turned away instead of "Failed to fetch".
void add_cors_headers(Headers& headers, std::string_view origin);

// The answer headers to a preflight for `methods` (e.g. "GET, POST, OPTIONS").
Headers preflight_headers(std::string_view origin, std::string_view methods);

// Logs (warn) that `origin` was refused for the app, at most once a minute per app and origin,
// so that a misconfigured page is visible to the operator without flooding the log.
void log_refused_origin(const config::AppConfig& app, std::string_view origin);

}  // namespace greendot::auth
