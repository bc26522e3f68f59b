// The signatures a connection shows for what the application's auth endpoint allowed it:
// a private or presence subscription, or a sign-in ("<app key>:<hex HMAC-SHA256>", made with
// the app secret over Pusher's string to sign).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace greendot::auth {

bool subscription_authorized(const config::AppConfig& app, std::string_view socket_id,
                             std::string_view channel, const std::optional<std::string>& auth);
// Presence channels sign the channel_data (the member's identity) too.
bool presence_authorized(const config::AppConfig& app, std::string_view socket_id,
                         std::string_view channel, std::string_view channel_data,
                         const std::optional<std::string>& auth);
bool signin_authorized(const config::AppConfig& app, std::string_view socket_id,
                       std::string_view user_data, std::string_view auth);

}  // namespace greendot::auth
