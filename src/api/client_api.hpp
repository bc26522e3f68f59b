// The endpoints pages call with a user token (the route table has verified it and the origin):
//    POST /apps/{id}/client/ping      {"contexts"?, "status"?}       token in Authorization
//    POST /apps/{id}/client/offline   {"context"?} or the token as a text/plain body (sendBeacon)
//    GET  /apps/{id}/client/users?ids=1,2,3                          token in Authorization
//    GET  /apps/{id}/client/stream?context=X                         token in Authorization or
//                                                                    ?token= (EventSource)
// A token opens only the contexts its `contexts` claim names (auth/page_token).
#pragma once

#include <string>
#include <variant>

#include "api/routes.hpp"

namespace greendot::api {

void client_ping(ApiCall& call, Respond respond);
void client_offline(ApiCall& call, Respond respond);
void client_users(ApiCall& call, Respond respond);

// Who an SSE stream is: the token's user in presence-{context}.
struct StreamMember {
  core::AppIndex app = 0;
  std::string channel;    // presence-{context}
  std::string user_id;    // from the token
  std::string user_info;  // JSON text, from the token
  std::string origin;     // echoed in Access-Control-Allow-Origin when not empty
};
// The member of a stream request, or the refusal to send (bad context, not in the token).
std::variant<StreamMember, RestResponse> stream_member(const ApiCall& call);

}  // namespace greendot::api
