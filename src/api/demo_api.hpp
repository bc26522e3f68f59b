// The demo's own backend, on only when [web] demo_app names an app (the development config
// does): what an application would do for its pages, done by greendot for the demo page at /.
//   POST /demo/api/token  {"name": "Ada"}  → {"token", "user_id", "app", "key", "context"}
//        a user token for the demo app (context "demo"), the name as user id and user_info
//   POST /demo/api/auth   socket_id=...&channel_name=presence-demo   (Authorization: Bearer token)
//        pusher-js's channel authorization of presence-demo for the token's user
// Anyone who can reach them gets a token: never name a production app in demo_app.
#pragma once

#include "api/routes.hpp"

namespace greendot::api {

void demo_token(ApiCall& call, Respond respond);
void demo_channel_auth(ApiCall& call, Respond respond);

}  // namespace greendot::api
