// GET /metrics: the server's counters in Prometheus's text format (version 0.0.4), for
// scrapers given the operators' credentials (the route table checks them, as for /dashboard).
#pragma once

#include <string>

#include "api/routes.hpp"

namespace greendot::api {

void metrics(ApiCall& call, Respond respond);

// The exposition itself: what /metrics answers.
std::string metrics_text(server::ServerContext& context);

}  // namespace greendot::api
