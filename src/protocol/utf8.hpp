// UTF-8 validation for WebSocket text messages and close reasons (RFC 6455 §8.1).
#pragma once

#include <string_view>

namespace greendot::protocol::websocket {

// True if `text` is well-formed UTF-8 (Unicode Table 3-7): no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequences.
bool valid_utf8(std::string_view text);

}  // namespace greendot::protocol::websocket
