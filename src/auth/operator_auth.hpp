// The operators' credentials for /dashboard: HTTP Basic, checked against [web] dashboard_user
// and dashboard_password in constant time.
#pragma once

#include <optional>
#include <string_view>

#include "api/api_message.hpp"
#include "config/settings.hpp"

namespace greendot::auth {

// The refusal for a request without the operators' credentials (404 while the dashboard is
// off, 401 with a Basic challenge otherwise), or nothing when `authorization` carries them.
std::optional<api::RestResponse> operator_refusal(const config::WebSettings& web,
                                                  std::string_view authorization);

}  // namespace greendot::auth
