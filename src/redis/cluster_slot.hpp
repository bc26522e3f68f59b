// Redis Cluster's key space: the hash slot of a key (CRC16-XMODEM of the key, or of its hash
// tag, modulo 16384), and the redirections a node answers with when it does not own a slot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace greendot::redis {

inline constexpr std::uint16_t kClusterSlots = 16384;

// The part of the key that is hashed: the text between the first '{' and the next '}' when
// it is not empty ("{user1000}.following" and "{user1000}.followers" share a slot), else the
// whole key.
std::string_view hash_tag(std::string_view key);
std::uint16_t key_slot(std::string_view key);

// "MOVED 3999 127.0.0.1:6381": the slot lives elsewhere now (update the map); "ASK 3999 ...":
// ask that node once, after ASKING, while the slot migrates.
struct Redirect {
  enum class Kind { Moved, Ask };
  Kind kind;
  std::uint16_t slot;
  std::string host;  // as the node gave it; may be empty ("use the address you reached me at")
  std::uint16_t port;
};
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace greendot::redis
