#include "protocol/socket_id.hpp"

#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

namespace greendot::protocol {

std::string SocketId::to_string() const {
  return std::to_string(high) + "." + std::to_string(low);
}

SocketId SocketId::random() {
  SocketId id;
  // Zero is reserved for "no socket", so redraw in the (unlikely) case of two zeros.
  while (id.empty()) {
    std::uint32_t parts[2];
    if (RAND_bytes(reinterpret_cast<unsigned char*>(parts), sizeof parts) != 1) {
      throw std::runtime_error("the CSPRNG failed to produce a socket id");
    }
    // Keep each part to 9 digits, as Reverb does, so ids stay short.
    id.high = parts[0] % 1000000000u;
    id.low = parts[1] % 1000000000u;
  }
  return id;
}

namespace {

std::optional<std::uint32_t> parse_part(std::string_view digits) {
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<SocketId> SocketId::parse(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto high = parse_part(text.substr(0, dot));
  auto low = parse_part(text.substr(dot + 1));
  if (!high || !low) return std::nullopt;
  return SocketId{*high, *low};
}

}  // namespace greendot::protocol
