#include "protocol/websocket_handshake.hpp"

#include <openssl/evp.h>

#include <stdexcept>
#include <tuple>

#include "protocol/digest.hpp"

namespace greendot::protocol::websocket {

namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kSha1Size = 20;
constexpr std::size_t kBase64Sha1Size = 28;  // 4 * ceil(20 / 3)

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool valid_client_key(std::string_view client_key) {
  // 16 bytes = 5 full 3-byte groups (20 characters) + 1 byte (2 characters and "==").
  if (client_key.size() != 24 || !client_key.ends_with("==")) return false;
  for (char c : client_key.substr(0, 22)) {
    if (!is_base64_char(c)) return false;
  }
  return true;
}

std::string accept_key(std::string_view client_key) {
  std::string input;
  input.reserve(client_key.size() + kAcceptGuid.size());
  input.append(client_key).append(kAcceptGuid);

  const auto digest = sha1(input);
  static_assert(std::tuple_size_v<decltype(digest)> == kSha1Size);

  // EVP_EncodeBlock writes a terminating NUL after the 28 characters.
  unsigned char encoded[kBase64Sha1Size + 1];
  EVP_EncodeBlock(encoded, digest.data(), kSha1Size);
  return std::string(reinterpret_cast<const char*>(encoded), kBase64Sha1Size);
}

}  // namespace greendot::protocol::websocket
