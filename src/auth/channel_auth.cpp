#include "auth/channel_auth.hpp"

#include "protocol/signature.hpp"

namespace greendot::auth {

bool subscription_authorized(const config::AppConfig& app, std::string_view socket_id,
                             std::string_view channel, const std::optional<std::string>& auth) {
  return auth && protocol::verify_auth(*auth, app.key, app.secret,
                                       protocol::channel_string_to_sign(socket_id, channel));
}

bool presence_authorized(const config::AppConfig& app, std::string_view socket_id,
                         std::string_view channel, std::string_view channel_data,
                         const std::optional<std::string>& auth) {
  return auth &&
         protocol::verify_auth(*auth, app.key, app.secret,
                               protocol::presence_string_to_sign(socket_id, channel, channel_data));
}

bool signin_authorized(const config::AppConfig& app, std::string_view socket_id,
                       std::string_view user_data, std::string_view auth) {
  return protocol::verify_auth(auth, app.key, app.secret,
                               protocol::user_string_to_sign(socket_id, user_data));
}

}  // namespace greendot::auth
