#include "protocol/signature.hpp"

#include <openssl/crypto.h>

#include "protocol/digest.hpp"

namespace greendot::protocol {

std::string hex_encode(const unsigned char* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(size * 2, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 0xF];
  }
  return hex;
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view message) {
  const auto digest = hmac_sha256(secret, message);
  return hex_encode(digest.data(), digest.size());
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Lengths are public (a signature is always 64 hex digits); only the contents are secret.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify_auth(std::string_view auth, std::string_view app_key, std::string_view secret,
                 std::string_view string_to_sign) {
  const auto colon = auth.find(':');
  if (colon == std::string_view::npos) return false;
  if (auth.substr(0, colon) != app_key) return false;
  return constant_time_equals(auth.substr(colon + 1), hmac_sha256_hex(secret, string_to_sign));
}

std::string channel_string_to_sign(std::string_view socket_id, std::string_view channel) {
  std::string s;
  s.reserve(socket_id.size() + 1 + channel.size());
  s.append(socket_id).append(":").append(channel);
  return s;
}

std::string presence_string_to_sign(std::string_view socket_id, std::string_view channel,
                                    std::string_view channel_data) {
  std::string s = channel_string_to_sign(socket_id, channel);
  s.append(":").append(channel_data);
  return s;
}

std::string user_string_to_sign(std::string_view socket_id, std::string_view user_data) {
  std::string s;
  s.append(socket_id).append("::user::").append(user_data);
  return s;
}

}  // namespace greendot::protocol
