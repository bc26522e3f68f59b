#include "api/web_pages.hpp"

#include "api/web_assets.hpp"

namespace greendot::api {

namespace {

const WebAsset* find_asset(std::string_view path) {
  for (const auto& asset : web_assets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

RestResponse not_found(const RestRequest& request) {
  return rest_error(404, "No such file: " + request.path);
}

// `cache` is the Cache-Control value: what may be kept, and for how long.
RestResponse file_response(const WebAsset& asset, std::string_view cache) {
  RestResponse response{200, std::string(asset.body), {}};
  response.headers.emplace_back("Content-Type", std::string(asset.content_type));
  response.headers.emplace_back("Cache-Control", std::string(cache));
  response.headers.emplace_back("ETag", std::string(asset.etag));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

// Module scripts are fetched with CORS: a page on any origin may import the library, which is
// public and carries no credentials.
RestResponse library_response(const WebAsset& asset, std::string_view cache) {
  RestResponse response = file_response(asset, cache);
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return response;
}

}  // namespace

void serve_library(ApiCall& call, Respond respond) {
  const WebAsset* asset = find_asset(call.request.path);
  if (!asset) return respond(not_found(call.request));
  // A short life: pages that import the unversioned URL get a new release within minutes.
  respond(library_response(*asset, "public, max-age=300"));
}

void serve_versioned_library(ApiCall& call, Respond respond) {
  if (call.params.at(0) != web_version()) {
    return respond(rest_error(404, "This server has greendot.js " + std::string(web_version()) +
                                       ", at /greendot/" + std::string(web_version()) +
                                       "/greendot.js"));
  }
  const WebAsset* asset = find_asset("/greendot.js");
  if (!asset) return respond(not_found(call.request));
  respond(library_response(*asset, "public, max-age=31536000, immutable"));
}

void serve_demo_file(ApiCall& call, Respond respond) {
  if (call.context.settings.web.demo_app.empty()) {
    return respond(rest_error(404, "No such endpoint: " + call.request.method + " " +
                                       call.request.path +
                                       " (the demo page is on only when [web] demo_app is set)"));
  }
  const WebAsset* asset = find_asset(call.request.path);
  if (!asset) return respond(not_found(call.request));
  respond(file_response(*asset, "no-cache"));
}

void serve_dashboard_file(ApiCall& call, Respond respond) {
  const WebAsset* asset = find_asset(call.request.path);
  if (!asset) return respond(not_found(call.request));
  RestResponse response = file_response(*asset, "no-store");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  respond(std::move(response));
}

}  // namespace greendot::api
