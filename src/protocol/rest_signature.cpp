#include "protocol/rest_signature.hpp"
#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "protocol/digest.hpp"
#include "protocol/signature.hpp"

namespace greendot::protocol {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const std::string* find_param(const QueryParams& query, std::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace

std::string rest_string_to_sign(std::string_view method, std::string_view path,
                                const QueryParams& query) {
  std::vector<std::pair<std::string, std::string_view>> params;
  params.reserve(query.size());
  for (const auto& [key, value] : query) {
    std::string name = lower(key);
    if (name == "auth_signature") continue;
    params.emplace_back(std::move(name), value);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  out.append(method).append("\n").append(path).append("\n");
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out.push_back('&');
    out.append(params[i].first).append("=").append(params[i].second);
  }
  return out;
}

std::string md5_hex(std::string_view data) {
  const auto digest = md5(data);
  return hex_encode(digest.data(), digest.size());
}

RestAuthResult verify_rest_request(std::string_view method, std::string_view path,
                                   const QueryParams& query, std::string_view body,
                                   std::string_view app_key, std::string_view secret,
                                   std::int64_t now_s, std::int64_t window_s) {
  for (const char* required : {"auth_key", "auth_timestamp", "auth_version", "auth_signature"}) {
    if (!find_param(query, required)) {
      return {false, std::string("Missing query parameter ") + required};
    }
  }
  if (*find_param(query, "auth_key") != app_key) return {false, "Unknown auth_key for this app"};
  if (*find_param(query, "auth_version") != "1.0") return {false, "auth_version must be 1.0"};

  const std::string& timestamp_text = *find_param(query, "auth_timestamp");
  std::int64_t timestamp = 0;
  auto [end, ec] = std::from_chars(timestamp_text.data(),
                                   timestamp_text.data() + timestamp_text.size(), timestamp);
  if (ec != std::errc{} || end != timestamp_text.data() + timestamp_text.size()) {
    return {false, "auth_timestamp must be a Unix time in seconds"};
  }
  if (timestamp < now_s - window_s || timestamp > now_s + window_s) {
    return {false, "auth_timestamp is more than " + std::to_string(window_s) +
                       " seconds from the server's time; check the clock"};
  }

  const std::string* body_md5 = find_param(query, "body_md5");
  if (!body.empty() && !body_md5) return {false, "Missing query parameter body_md5"};
  if (body_md5 && !constant_time_equals(*body_md5, md5_hex(body))) {
    return {false, "body_md5 does not match the body"};
  }

  const std::string expected = hmac_sha256_hex(secret, rest_string_to_sign(method, path, query));
  if (!constant_time_equals(*find_param(query, "auth_signature"), expected)) {
    return {false, "Invalid auth_signature"};
  }
  return {true, {}};
}

}  // namespace greendot::protocol
