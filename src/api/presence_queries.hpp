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
  std::string tab;  // the page's tab id, "" when the ping names none
};

// Keeps the user present in each channel for the app's heartbeat TTL; answers
// {"contexts": {context: "present" | "full" | "ended"}, "ttl_ms": n}; "ended" answers a late ping
// from a tab that already said offline.
void heartbeat(server::ServerContext& context, core::AppIndex app, HeartbeatCall call,
               Respond respond);

// The end of a user's heartbeat sessions in `channel` (every channel when empty): of one tab,
// or of all their tabs when `tab` is empty; a late ping from that tab is refused for a TTL.
engine::HeartbeatOffline offline_of(const config::AppConfig& config, core::AppIndex app,
                                    std::string user_id, std::string channel, std::string tab);

// {"users": {id: {"online", "status"?, "last_seen" | "last_seen_approx", ...}}}: with
// `apply_privacy`, each user as others may see them (the viewer always sees the truth about
// themself); without, the truth and each user's privacy settings.
void users_presence(server::ServerContext& context, core::AppIndex app,
                    std::vector<std::string> ids, std::string viewer, bool apply_privacy,
                    Respond respond);

}  // namespace greendot::api
