// The application backend's credential: Pusher's REST request signature with the app's key
// and secret (protocol/rest_signature), checked against the current time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "protocol/rest_signature.hpp"

namespace greendot::auth {

// What is wrong with the request's signature, or nothing when it is the app's.
std::optional<std::string> app_signature_problem(std::string_view method, std::string_view path,
                                                 const protocol::QueryParams& query,
                                                 std::string_view body,
                                                 const config::AppConfig& app);

}  // namespace greendot::auth
