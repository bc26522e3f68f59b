// The bytes of one webhook request: the JSON body and its signature, as Pusher sends them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greendot::webhooks {

// {"time_ms":<time_ms>,"events":[<events joined by ",">]}, with no whitespace. Each event is
// already JSON text (see webhook_sink.hpp).
std::string webhook_body(std::int64_t time_ms, const std::vector<std::string>& events);

// X-Pusher-Signature: lower-case hex HMAC-SHA256 of the exact body bytes, keyed by the secret.
std::string webhook_signature(std::string_view secret, std::string_view body);

}  // namespace greendot::webhooks
