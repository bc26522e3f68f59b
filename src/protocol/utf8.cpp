#include "protocol/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace greendot::protocol::websocket {

namespace {

constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// Length of the sequence starting with `lead` (0 if `lead` cannot start one), and the range
// allowed for the second byte, which is where overlongs, surrogates and > U+10FFFF show up.
struct Lead {
  unsigned continuation_bytes;
  unsigned char second_min;
  unsigned char second_max;
};

constexpr Lead classify(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return {1, 0x80, 0xBF};
  if (lead == 0xE0) return {2, 0xA0, 0xBF};  // below A0 would be overlong
  if (lead == 0xED) return {2, 0x80, 0x9F};  // above 9F would be a surrogate
  if (lead >= 0xE1 && lead <= 0xEF) return {2, 0x80, 0xBF};
  if (lead == 0xF0) return {3, 0x90, 0xBF};  // below 90 would be overlong
  if (lead >= 0xF1 && lead <= 0xF3) return {3, 0x80, 0xBF};
  if (lead == 0xF4) return {3, 0x80, 0x8F};  // above 8F would exceed U+10FFFF
  return {0, 0, 0};                          // 80..C1 and F5..FF never start a sequence
}

}  // namespace

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p != end) {
    // Pusher traffic is mostly JSON in ASCII: skip it a word at a time.
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & kHighBits) == 0) {
        p += 8;
        continue;
      }
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const Lead lead = classify(*p);
    if (lead.continuation_bytes == 0 ||
        static_cast<std::size_t>(end - p) <= lead.continuation_bytes) {
      return false;
    }
    if (p[1] < lead.second_min || p[1] > lead.second_max) return false;
    for (unsigned i = 2; i <= lead.continuation_bytes; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += lead.continuation_bytes + 1;
  }
  return true;
}

}  // namespace greendot::protocol::websocket
