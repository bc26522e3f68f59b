// The Pusher HTTP REST API at /apps/{app_id}/...: triggering events, channel information and
// terminating a user's connections, for the application backend and the official `pusher`
// SDKs. The route table (api/routes) has checked the app and the signature.
#pragma once

#include "api/routes.hpp"

namespace greendot::api {

void post_events(ApiCall& call, Respond respond);                 // POST events
void post_batch_events(ApiCall& call, Respond respond);           // POST batch_events
void get_channels(ApiCall& call, Respond respond);                // GET channels
void get_channel(ApiCall& call, Respond respond);                 // GET channels/{name}
void get_channel_users(ApiCall& call, Respond respond);           // GET channels/{name}/users
void terminate_user_connections(ApiCall& call, Respond respond);  // POST users/{id}/terminate_...

}  // namespace greendot::api
