// Pusher's signatures: HMAC-SHA256 in lower-case hex, checked in constant time.
#pragma once

#include <string>
#include <string_view>

namespace greendot::protocol {

std::string hmac_sha256_hex(std::string_view secret, std::string_view message);

// Lower-case hex of a digest.
std::string hex_encode(const unsigned char* bytes, std::size_t size);

// Equality that takes the same time wherever the first difference is, so that a signature
// cannot be guessed byte by byte from response times.
bool constant_time_equals(std::string_view a, std::string_view b);

// `auth` = "<app key>:<hex HMAC of string_to_sign>". Checks the key and the signature.
bool verify_auth(std::string_view auth, std::string_view app_key, std::string_view secret,
                 std::string_view string_to_sign);

// The strings Pusher signs for channel authorization and user authentication.
std::string channel_string_to_sign(std::string_view socket_id, std::string_view channel);
std::string presence_string_to_sign(std::string_view socket_id, std::string_view channel,
                                    std::string_view channel_data);
std::string user_string_to_sign(std::string_view socket_id, std::string_view user_data);

}  // namespace greendot::protocol
