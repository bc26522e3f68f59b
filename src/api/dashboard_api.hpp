// What the operators' dashboard shows (the route table has checked their credentials):
//   GET /dashboard/api/stream                      SSE: a `stats` event every second
//   GET /dashboard/api/members?app=ID&channel=NAME  a presence channel's members, with status
//                                                  and last seen (the truth, privacy aside)
#pragma once

#include <functional>
#include <string>

#include "api/routes.hpp"

namespace greendot::api {

void dashboard_members(ApiCall& call, Respond respond);

// One `stats` event's data (JSON): {"time_ms", "connections", "messages_in", "messages_out",
// "webhooks_delivered", "webhooks_failed", "apps": [{"id", "connections", "channels":
// [{"name", "subscriptions", "members"}]}]}; totals since start, so that the page draws rates.
// `done` is called once, on an engine thread.
void collect_dashboard_stats(server::ServerContext& context,
                             std::function<void(std::string json)> done);

}  // namespace greendot::api
