// The files greendot serves from memory (web/, embedded at build time by cmake/embed_web.cmake):
// the browser library, the demo page and the dashboard. Running greendot needs no file on disk.
#pragma once

#include <span>
#include <string_view>

namespace greendot::api {

struct WebAsset {
  std::string_view path;  // the URL path it is served at, e.g. "/greendot.js"
  std::string_view content_type;
  std::string_view etag;  // quoted, from the file's SHA-256
  std::string_view body;
};

// Generated from web/ (see CMakeLists.txt for the list).
std::span<const WebAsset> web_assets();
// The library's version, part of its immutable URL /greendot/{version}/greendot.js.
std::string_view web_version();

}  // namespace greendot::api
