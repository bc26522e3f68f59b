// Reading the Redis engine's script answers: a reply that is not an error, and the elements of
// an array reply by position (a missing or mistyped element reads as 0 or "", since a script
// of an older or newer node may answer with fewer or more).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "redis/connection.hpp"

namespace greendot::engine::redis_engine {

inline const redis::Reply* reply_of(const redis::Result& result) {
  const auto* reply = std::get_if<redis::Reply>(&result);
  return reply && !reply->is_error() ? reply : nullptr;
}

// Why a command failed: the connection's reason, or the error reply's text.
inline std::string why(const redis::Result& result) {
  if (const auto* error = std::get_if<redis::ConnectionError>(&result)) return error->message;
  return std::get<redis::Reply>(result).text;
}

inline std::int64_t integer_at(const redis::Reply& reply, std::size_t i) {
  if (i >= reply.elements.size()) return 0;
  const redis::Reply& element = reply.elements[i];
  if (element.type == redis::Reply::Type::Integer) return element.integer;
  if (element.is_string()) return std::atoll(element.text.c_str());
  return 0;
}

inline const std::string& text_at(const redis::Reply& reply, std::size_t i) {
  static const std::string kEmpty;
  if (i >= reply.elements.size() || !reply.elements[i].is_string()) return kEmpty;
  return reply.elements[i].text;
}

}  // namespace greendot::engine::redis_engine
