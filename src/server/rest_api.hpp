// The Pusher HTTP REST API at /apps/{app_id}/...: triggering events, channel information and
// terminating a user's connections, for the application backend and the official `pusher`
// SDKs. Independent of the HTTP library: requests and responses are plain values.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/rest_signature.hpp"
#include "server/server_context.hpp"

namespace greendot::server {

struct RestRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // as sent (the signed form), without the query
  protocol::QueryParams query;
  std::string body;
  std::string authorization;  // the Authorization header, for browser endpoints
  std::string origin;         // the Origin header, for CORS
};

struct RestResponse {
  int status = 200;
  std::string body;                                          // JSON
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (CORS)
};

// A JSON error body {"error": message} with its status.
RestResponse rest_error(int status, std::string_view message);

// Whether a path belongs to the REST API.
bool is_rest_path(std::string_view path);

// Answers a request; `respond` is called exactly once, possibly from an engine thread (post it
// back to your own).
void handle_rest(ServerContext& context, RestRequest request,
                 std::function<void(RestResponse)> respond);

}  // namespace greendot::server
