#include "webhooks/webhook_body.hpp"

#include "protocol/signature.hpp"

namespace greendot::webhooks {

std::string webhook_body(std::int64_t time_ms, const std::vector<std::string>& events) {
  std::size_t size = 40;
  for (const std::string& event : events) size += event.size() + 1;
  std::string body;
  body.reserve(size);
  body += "{\"time_ms\":";
  body += std::to_string(time_ms);
  body += ",\"events\":[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body += ',';
    body += events[i];
  }
  body += "]}";
  return body;
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return protocol::hmac_sha256_hex(secret, body);
}

}  // namespace greendot::webhooks
