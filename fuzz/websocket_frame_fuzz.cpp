// Arbitrary bytes into the WebSocket frame parser. Besides crashes, leaks and undefined
// behaviour, it checks that how the input is split never changes what comes out, that every
// event respects the limits the connection code relies on, and that the encoder reproduces it.
#include "protocol/utf8.hpp"
#include "protocol/websocket_frame.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ws = greendot::protocol::websocket;

namespace {

// Small, so that both sides of the message limit are reached; control frames may exceed it.
constexpr std::size_t kMaxMessageBytes = 64;

struct Event {
  ws::ParsedEvent::Kind kind;
  std::string payload;
  std::uint16_t close_code;
  bool operator==(const Event&) const = default;
};

struct Outcome {
  std::vector<Event> events;
  ws::ParseError error = ws::ParseError::None;
  bool operator==(const Outcome&) const = default;
};

void check(bool condition) {
  if (!condition) std::abort();
}

void check_event(const ws::ParsedEvent& event) {
  using Kind = ws::ParsedEvent::Kind;
  switch (event.kind) {
    case Kind::Text:
      check(ws::valid_utf8(event.payload));
      [[fallthrough]];
    case Kind::Binary:
      check(event.payload.size() <= kMaxMessageBytes);
      break;
    case Kind::Ping:
    case Kind::Pong:
      check(event.payload.size() <= 125);
      break;
    case Kind::Close:
      check(event.payload.size() <= 123 && ws::valid_utf8(event.payload));
      check(event.close_code >= 1000 && event.close_code <= 4999);
      break;
  }
}

// Feeds `input` in chunks whose sizes (0 to 16 bytes) come from a generator seeded by `seed`;
// seed 0 feeds everything at once.
Outcome run(ws::Role role, std::string_view input, std::uint8_t seed) {
  ws::FrameParser parser(role, kMaxMessageBytes);
  Outcome outcome;
  const auto collect = [&](const ws::ParsedEvent& event) {
    check_event(event);
    outcome.events.push_back({event.kind, std::string(event.payload), event.close_code});
  };
  if (seed == 0) {
    outcome.error = parser.feed(input, collect);
  } else {
    std::uint32_t state = seed;
    do {
      state = state * 1103515245u + 12345u;
      const std::size_t chunk = (state >> 16) % 17;
      const std::string_view piece = input.substr(0, chunk);
      input.remove_prefix(piece.size());
      const ws::ParseError error = parser.feed(piece, collect);
      check(outcome.error == ws::ParseError::None || error == outcome.error);
      outcome.error = error;
      if (state & 0x100) parser.shrink_if_idle();
    } while (!input.empty());
  }
  check(parser.error() == outcome.error);
  if (outcome.error != ws::ParseError::None) check(parser.idle());
  return outcome;
}

// Encodes the events again, as a server would send them, and parses that back.
void check_reencoding(const Outcome& outcome) {
  using Kind = ws::ParsedEvent::Kind;
  std::string encoded;
  for (const Event& event : outcome.events) {
    switch (event.kind) {
      case Kind::Text:
        ws::append_frame(encoded, ws::Opcode::Text, event.payload);
        break;
      case Kind::Binary:
        ws::append_frame(encoded, ws::Opcode::Binary, event.payload);
        break;
      case Kind::Ping:
        ws::append_frame(encoded, ws::Opcode::Ping, event.payload);
        break;
      case Kind::Pong:
        ws::append_frame(encoded, ws::Opcode::Pong, event.payload);
        break;
      case Kind::Close:
        encoded += event.close_code == 1005 ? ws::encode_frame(ws::Opcode::Close, "")
                                            : ws::encode_close(event.close_code, event.payload);
        break;
    }
  }
  check(run(ws::Role::Client, encoded, 0).events == outcome.events);
}

}  // namespace

// Byte 0 picks the role (low bit) and the way the rest is split.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ws::Role role = (data[0] & 1) != 0 ? ws::Role::Client : ws::Role::Server;
  const auto seed = static_cast<std::uint8_t>(data[0] | 1);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = run(role, input, 0);
  check(whole == run(role, input, seed));
  check_reencoding(whole);
  return 0;
}
