// greendot's own presence endpoints, beside the Pusher REST API:
//
//  signed like the Pusher REST API, for the application backend
//    POST /apps/{id}/presence/heartbeat   {"user_id", "contexts"?, "user_info"?}
//    POST /apps/{id}/presence/offline     {"user_id", "context"?}
//    POST /apps/{id}/users/presence       {"users": [...], "unfiltered"?: bool}
//    GET|PUT /apps/{id}/users/{user}/privacy
//
//  for pages, with a user token (JWT HS256 signed with the app secret), CORS per app
//    POST /apps/{id}/client/ping          {"contexts"?}, token in Authorization: Bearer
//    POST /apps/{id}/client/offline       the token as a text/plain body (sendBeacon), or
//                                         {"token", "context"?}
//    GET  /apps/{id}/client/users?ids=1,2 privacy applied
//    GET  /apps/{id}/client/stream?context=X&token=  Server-Sent Events (server/sse_stream)
#pragma once

#include "server/rest_api.hpp"

namespace greendot::server {

// Requests under /apps/{id}/ that the signed presence endpoints answer (`rest` is the part
// after the app id, e.g. "presence/heartbeat"). The signature has been checked.
bool is_signed_presence_path(std::string_view rest);
void handle_signed_presence(ServerContext& context, core::AppIndex app, const RestRequest& request,
                            std::string_view rest, std::function<void(RestResponse)> respond);

// Requests under /apps/{id}/client/, authenticated by a user token instead of a signature.
void handle_client(ServerContext& context, core::AppIndex app, const RestRequest& request,
                   std::string_view rest, std::function<void(RestResponse)> respond);

}  // namespace greendot::server
