#include "protocol/user_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cmath>

#include "core/channel_name.hpp"
#include "protocol/digest.hpp"
#include "protocol/signature.hpp"

namespace greendot::protocol {

namespace json = boost::json;

namespace {

// Bounds on what a token may list, so that a forged-looking but signed token cannot make every
// request scan thousands of entries.
constexpr std::size_t kMaxAudiences = 16;
constexpr std::size_t kMaxContexts = 100;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string hmac_sha256_raw(std::string_view secret, std::string_view message) {
  const auto digest = hmac_sha256(secret, message);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::optional<json::object> decode_json_part(std::string_view part) {
  auto bytes = base64url_decode(part);
  if (std::holds_alternative<TokenProblem>(bytes)) return std::nullopt;
  std::error_code ec;
  json::value value = json::parse(std::get<std::string>(bytes), ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

std::optional<std::int64_t> whole_seconds(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= INT64_MAX)
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double()) && std::fabs(v.get_double()) < 1e15) {
    return static_cast<std::int64_t>(v.get_double());
  }
  return std::nullopt;
}

// A string, or an array of at most `max` non-empty strings (a lone string counts as one).
std::optional<std::vector<std::string>> string_list(const json::value& v, std::size_t max) {
  std::vector<std::string> out;
  if (v.is_string()) {
    if (v.get_string().empty()) return std::nullopt;
    out.emplace_back(v.get_string());
    return out;
  }
  if (!v.is_array() || v.get_array().size() > max) return std::nullopt;
  for (const auto& item : v.get_array()) {
    if (!item.is_string() || item.get_string().empty()) return std::nullopt;
    out.emplace_back(item.get_string());
  }
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

std::variant<std::string, TokenProblem> base64url_decode(std::string_view text) {
  std::array<int, 256> values;
  values.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  // Padding is not used in JWTs, but tolerate it.
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return TokenProblem{"invalid base64url length"};
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : text) {
    const int v = values[c];
    if (v < 0) return TokenProblem{"invalid base64url character"};
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::string sign_user_token(std::string_view payload_json, std::string_view secret) {
  std::string token = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  token.push_back('.');
  token.append(base64url_encode(payload_json));
  const std::string signature = hmac_sha256_raw(secret, token);
  token.push_back('.');
  token.append(base64url_encode(signature));
  return token;
}

std::variant<UserToken, TokenProblem> verify_user_token(std::string_view token,
                                                        std::string_view secret, std::int64_t now_s,
                                                        std::size_t max_user_id_length) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return TokenProblem{"The token is not a JWT (header.payload.signature)"};
  }
  auto header = decode_json_part(token.substr(0, first));
  if (!header) return TokenProblem{"The token's header is not base64url JSON"};
  const json::value* alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->get_string() != "HS256") {
    return TokenProblem{"The token must be signed with HS256"};
  }
  const std::string expected = base64url_encode(hmac_sha256_raw(secret, token.substr(0, second)));
  if (!constant_time_equals(token.substr(second + 1), expected)) {
    return TokenProblem{"Invalid token signature"};
  }
  auto payload = decode_json_part(token.substr(first + 1, second - first - 1));
  if (!payload) return TokenProblem{"The token's payload is not base64url JSON"};

  UserToken result;
  const json::value* exp = payload->if_contains("exp");
  auto expires = exp ? whole_seconds(*exp) : std::nullopt;
  if (!expires) return TokenProblem{"The token needs a numeric exp"};
  if (*expires <= now_s) return TokenProblem{"The token has expired"};
  result.expires_s = *expires;
  if (const json::value* nbf = payload->if_contains("nbf")) {
    auto not_before = whole_seconds(*nbf);
    if (!not_before) return TokenProblem{"nbf must be a number"};
    if (*not_before > now_s) return TokenProblem{"The token is not valid yet (nbf)"};
  }
  const json::value* sub = payload->if_contains("sub");
  std::optional<std::string> user;
  if (sub && sub->is_string()) user = std::string(sub->get_string());
  if (sub && sub->is_int64()) user = std::to_string(sub->get_int64());
  if (sub && sub->is_uint64()) user = std::to_string(sub->get_uint64());
  if (!user || !core::valid_user_id(*user, max_user_id_length)) {
    return TokenProblem{"The token's sub must be a user id of 1 to " +
                        std::to_string(max_user_id_length) + " characters from [A-Za-z0-9_-=@,.;]"};
  }
  result.user_id = std::move(*user);
  const json::value* info = payload->if_contains("user_info");
  if (info && !info->is_null() && !info->is_object()) {
    return TokenProblem{"The token's user_info must be an object"};
  }
  result.user_info = info && info->is_object() ? json::serialize(*info) : "null";
  if (const json::value* iat = payload->if_contains("iat")) {
    result.issued_s = whole_seconds(*iat);
    if (!result.issued_s) return TokenProblem{"iat must be a number"};
  }
  if (const json::value* aud = payload->if_contains("aud")) {
    auto names = string_list(*aud, kMaxAudiences);
    if (!names) return TokenProblem{"aud must be a string or an array of at most 16 strings"};
    result.audiences = std::move(*names);
  }
  if (const json::value* contexts = payload->if_contains("contexts")) {
    if (!contexts->is_array()) return TokenProblem{"contexts must be an array of strings"};
    auto names = string_list(*contexts, kMaxContexts);
    if (!names) {
      return TokenProblem{"contexts must be an array of at most " + std::to_string(kMaxContexts) +
                          " non-empty strings"};
    }
    result.contexts = std::move(*names);
  }
  return result;
}

}  // namespace greendot::protocol
