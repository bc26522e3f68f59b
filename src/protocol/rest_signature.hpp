// Pusher's REST request signing: auth_key, auth_timestamp, auth_version, body_md5 and
// auth_signature = HMAC-SHA256(secret, "METHOD\nPATH\nsorted query") in the query string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace greendot::protocol {

// Query parameters as decoded (name, value) pairs, in request order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// "METHOD\nPATH\nk1=v1&k2=v2" with keys lower-cased and sorted, auth_signature left out, values
// not escaped, exactly as the Pusher server libraries sign.
std::string rest_string_to_sign(std::string_view method, std::string_view path,
                                const QueryParams& query);

std::string md5_hex(std::string_view data);

struct RestAuthResult {
  bool ok = false;
  std::string problem;  // what is wrong, fit for the 401 body
};

// Checks every part of a signed request; `now_s` is the current Unix time in seconds and
// timestamps more than `window_s` away from it are refused.
RestAuthResult verify_rest_request(std::string_view method, std::string_view path,
                                   const QueryParams& query, std::string_view body,
                                   std::string_view app_key, std::string_view secret,
                                   std::int64_t now_s, std::int64_t window_s = 600);

}  // namespace greendot::protocol
