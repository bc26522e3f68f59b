#include "auth/operator_auth.hpp"

#include <string>

#include "protocol/digest.hpp"
#include "protocol/signature.hpp"

namespace greendot::auth {

namespace {

constexpr std::string_view kBasic = "Basic ";

// Standard base64 (RFC 4648 §4), as browsers send Basic credentials; nothing for bad text.
std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

// Digests of equal length, so that the comparison takes as long whatever the lengths of what
// is compared: neither the password nor its length can be found from response times.
bool same_secret(std::string_view given, std::string_view expected) {
  const auto a = protocol::hmac_sha256("greendot dashboard", given);
  const auto b = protocol::hmac_sha256("greendot dashboard", expected);
  return protocol::constant_time_equals(
      std::string_view(reinterpret_cast<const char*>(a.data()), a.size()),
      std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

api::RestResponse challenge(std::string_view message) {
  auto response = api::rest_error(401, message);
  response.headers.emplace_back("WWW-Authenticate",
                                "Basic realm=\"greendot dashboard\", charset=\"UTF-8\"");
  return response;
}

}  // namespace

std::optional<api::RestResponse> operator_refusal(const config::WebSettings& web,
                                                  std::string_view authorization) {
  if (web.dashboard_user.empty()) {
    return api::rest_error(404,
                           "The dashboard is off: set dashboard_user and dashboard_password in "
                           "the [web] section of the config");
  }
  if (!authorization.starts_with(kBasic)) {
    return challenge("The dashboard needs the operators' credentials (HTTP Basic)");
  }
  const auto decoded = base64_decode(authorization.substr(kBasic.size()));
  const std::string expected = web.dashboard_user + ":" + web.dashboard_password;
  if (!decoded || !same_secret(*decoded, expected)) {
    return challenge("Wrong dashboard user or password");
  }
  return std::nullopt;
}

}  // namespace greendot::auth
