// The engine calls behind greendot's presence endpoints, and their answers as JSON: shared by
// the signed endpoints (the backend) and the page endpoints (user tokens).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/api_message.hpp"
#include "engine/presence_engine.hpp"
#include "server/server_context.hpp"

namespace greendot::api {

struct HeartbeatCall {
  std::string user_id;
  std::string user_info;              // JSON text
  std::vector<std::string> channels;  // presence-{context}
  std::optional<engine::UserStatus> status;
};

// Keeps the user present in each channel for the app's heartbeat TTL; answers
// {"contexts": {context: "present" | "full"}, "ttl_ms": n}.
void heartbeat(server::ServerContext& context, core::AppIndex app, HeartbeatCall call,
               Respond respond);

// {"users": {id: {"online", "status"?, "last_seen" | "last_seen_approx", ...}}}: with
// `apply_privacy`, each user as others may see them (the viewer always sees the truth about
// themself); without, the truth and each user's privacy settings.
void users_presence(server::ServerContext& context, core::AppIndex app,
                    std::vector<std::string> ids, std::string viewer, bool apply_privacy,
                    Respond respond);

const char* visibility_name(storage::Visibility visibility);
const char* last_seen_name(storage::LastSeenPrivacy privacy);

}  // namespace greendot::api
