// Socket ids: "<n>.<n>", two numbers from the operating system's CSPRNG. A client that knows
// another's socket id can only exclude it from a broadcast, but ids are still unguessable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace greendot::protocol {

struct SocketId {
  std::uint32_t high = 0;
  std::uint32_t low = 0;

  bool operator==(const SocketId&) const = default;
  bool empty() const { return high == 0 && low == 0; }
  std::string to_string() const;

  static SocketId random();
  // Parses "<digits>.<digits>" with each part below 2^32; nothing for anything else.
  static std::optional<SocketId> parse(std::string_view text);
};

}  // namespace greendot::protocol
