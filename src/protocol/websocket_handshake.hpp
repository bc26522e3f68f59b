// The cryptographic part of the WebSocket opening handshake (RFC 6455 §4.2).
#pragma once

#include <string>
#include <string_view>

namespace greendot::protocol::websocket {

// True if `client_key` (Sec-WebSocket-Key) is the base64 encoding of exactly 16 bytes:
// 22 base64 characters followed by "==".
bool valid_client_key(std::string_view client_key);

// The Sec-WebSocket-Accept value for `client_key`:
// base64(SHA-1(client_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
// Throws std::runtime_error if OpenSSL cannot compute SHA-1.
std::string accept_key(std::string_view client_key);

}  // namespace greendot::protocol::websocket
