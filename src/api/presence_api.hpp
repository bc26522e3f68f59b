// greendot's presence endpoints for the application backend, signed like the Pusher REST API
// (the route table has checked the signature):
//    POST /apps/{id}/presence/heartbeat   {"user_id", "contexts"?, "user_info"?, "status"?}
//    POST /apps/{id}/presence/offline     {"user_id", "context"?}
//    POST /apps/{id}/users/presence       {"users": [...], "unfiltered"?: bool}
//    GET|PUT /apps/{id}/users/{user}/privacy
#pragma once

#include "api/routes.hpp"

namespace greendot::api {

void signed_heartbeat(ApiCall& call, Respond respond);
void signed_offline(ApiCall& call, Respond respond);
void users_presence(ApiCall& call, Respond respond);
void user_privacy(ApiCall& call, Respond respond);

}  // namespace greendot::api
