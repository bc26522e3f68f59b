// The endpoints that answer with a file of web/ rather than JSON:
//   GET /greendot.js, /greendot.d.ts         the browser library, for every origin (CORS *)
//   GET /greendot/{version}/greendot.js      the same, cached forever (the URL changes with it)
//   GET /, /demo/{file}                      the demo, when [web] demo_app names an app
//   GET /dashboard, /dashboard/{file}        the dashboard (the route requires the operators)
#pragma once

#include "api/routes.hpp"

namespace greendot::api {

void serve_library(ApiCall& call, Respond respond);
void serve_versioned_library(ApiCall& call, Respond respond);
void serve_demo_file(ApiCall& call, Respond respond);
void serve_dashboard_file(ApiCall& call, Respond respond);

}  // namespace greendot::api
