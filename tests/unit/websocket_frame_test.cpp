#include "protocol/websocket_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace greendot::protocol::websocket {
namespace {

using Kind = ParsedEvent::Kind;

constexpr std::uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};
constexpr std::size_t kMax = 1 << 20;
constexpr std::size_t kWhole = std::string::npos;

struct Event {
  Kind kind;
  std::string payload;
  std::uint16_t close_code = 0;
  bool operator==(const Event&) const = default;
};

void PrintTo(const Event& event, std::ostream* os) {
  *os << "{kind " << static_cast<int>(event.kind) << ", \"" << event.payload << "\", "
      << event.close_code << "}";
}

struct Result {
  std::vector<Event> events;
  ParseError error = ParseError::None;
};

std::string bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (unsigned v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Feeds `input` in pieces of `chunk` bytes (kWhole: all at once) to a fresh parser.
Result parse(Role role, std::string_view input, std::size_t max = kMax,
             std::size_t chunk = kWhole) {
  FrameParser parser(role, max);
  Result result;
  const auto collect = [&](const ParsedEvent& event) {
    result.events.push_back({event.kind, std::string(event.payload), event.close_code});
  };
  if (chunk == kWhole) chunk = input.size() + 1;
  do {
    const std::string_view piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    result.error = parser.feed(piece, collect);
  } while (!input.empty());
  EXPECT_EQ(parser.error(), result.error);
  return result;
}

Result parse_server(std::string_view input, std::size_t max = kMax) {
  return parse(Role::Server, input, max);
}

// A masked client frame whose first header byte is `first_byte`, so that tests can clear FIN,
// set reserved bits or use any opcode.
std::string client_frame(std::uint8_t first_byte, std::string_view payload) {
  std::string frame;
  append_frame(frame, Opcode::Binary, payload, kKey);
  frame[0] = static_cast<char>(first_byte);
  return frame;
}

std::string close_payload(unsigned code, std::string_view reason = "") {
  std::string payload = bytes({code >> 8, code & 0xFF});
  payload.append(reason);
  return payload;
}

// A message that exercises everything at once: fragmentation with control frames in between,
// all three length encodings, empty frames, and a closing handshake.
std::string conversation() {
  std::string in;
  append_frame(in, Opcode::Text, "{\"event\":\"pusher:ping\"}", kKey);
  in += client_frame(0x01, "frag");                       // Text, not FIN
  append_frame(in, Opcode::Ping, "are you there", kKey);  // between fragments
  in += client_frame(0x00, "");                           // empty continuation
  in += client_frame(0x00, std::string(300, 'm'));        // 16-bit length
  append_frame(in, Opcode::Pong, "", kKey);
  in += client_frame(0x80, "\xc3\xa9nd");                              // FIN continuation
  append_frame(in, Opcode::Binary, std::string(70000, '\x01'), kKey);  // 64-bit length
  append_frame(in, Opcode::Text, "", kKey);
  in += client_frame(0x88, close_payload(1000, "bye"));
  return in;
}

std::vector<Event> conversation_events() {
  return {{Kind::Text, "{\"event\":\"pusher:ping\"}"},
          {Kind::Ping, "are you there"},
          {Kind::Pong, ""},
          {Kind::Text, "frag" + std::string(300, 'm') + "\xc3\xa9nd"},
          {Kind::Binary, std::string(70000, '\x01')},
          {Kind::Text, ""},
          {Kind::Close, "bye", 1000}};
}

TEST(WebSocketFrame, ParsesRfcUnmaskedText) {
  const auto result = parse(Role::Client, bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, (std::vector<Event>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrame, ParsesRfcMaskedText) {
  const auto result =
      parse_server(bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, (std::vector<Event>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrame, ParsesRfcFragmentedUnmaskedText) {
  const auto result =
      parse(Role::Client, bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}));
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, (std::vector<Event>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrame, ParsesRfcPingAndMaskedPong) {
  const auto ping = parse(Role::Client, bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(ping.events, (std::vector<Event>{{Kind::Ping, "Hello"}}));
  const auto pong =
      parse_server(bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  EXPECT_EQ(pong.events, (std::vector<Event>{{Kind::Pong, "Hello"}}));
}

TEST(WebSocketFrame, ParsesRfcExtendedLengths) {
  std::string binary_256 = bytes({0x82, 0x7E, 0x01, 0x00}) + std::string(256, 'b');
  EXPECT_EQ(parse(Role::Client, binary_256).events,
            (std::vector<Event>{{Kind::Binary, std::string(256, 'b')}}));
  std::string binary_64k =
      bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}) + std::string(65536, 'c');
  EXPECT_EQ(parse(Role::Client, binary_64k).events,
            (std::vector<Event>{{Kind::Binary, std::string(65536, 'c')}}));
}

TEST(WebSocketFrame, EncodesRfcExamples) {
  EXPECT_EQ(encode_frame(Opcode::Text, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  std::string masked;
  append_frame(masked, Opcode::Text, "Hello", kKey);
  EXPECT_EQ(masked, bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  EXPECT_EQ(encode_frame(Opcode::Binary, std::string(256, 'b')).substr(0, 4),
            bytes({0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(encode_frame(Opcode::Binary, std::string(65536, 'c')).substr(0, 10),
            bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
}

TEST(WebSocketFrame, AppendFrameAppends) {
  std::string out = "prefix";
  append_frame(out, Opcode::Ping, "p");
  EXPECT_EQ(out, "prefix" + bytes({0x89, 0x01, 'p'}));
}

TEST(WebSocketFrame, HeaderSizeFollowsLengthEncoding) {
  EXPECT_EQ(frame_header_size(0), 2u);
  EXPECT_EQ(frame_header_size(125), 2u);
  EXPECT_EQ(frame_header_size(126), 4u);
  EXPECT_EQ(frame_header_size(65535), 4u);
  EXPECT_EQ(frame_header_size(65536), 10u);
  for (std::size_t size : {0u, 125u, 126u, 65535u, 65536u}) {
    EXPECT_EQ(encode_frame(Opcode::Binary, std::string(size, 'x')).size(),
              frame_header_size(size) + size);
  }
}

TEST(WebSocketFrame, RoundTripsThroughBothRoles) {
  for (std::size_t size :
       {0u, 1u, 3u, 4u, 5u, 7u, 8u, 9u, 125u, 126u, 127u, 65535u, 65536u, 70001u}) {
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    for (Opcode op : {Opcode::Text, Opcode::Binary}) {
      const Kind kind = op == Opcode::Text ? Kind::Text : Kind::Binary;
      std::string masked;
      append_frame(masked, op, payload, kKey);
      EXPECT_EQ(parse_server(masked).events, (std::vector<Event>{{kind, payload}})) << size;
      EXPECT_EQ(parse(Role::Client, encode_frame(op, payload)).events,
                (std::vector<Event>{{kind, payload}}))
          << size;
    }
  }
}

TEST(WebSocketFrame, RoundTripsClose) {
  const auto result = parse(Role::Client, encode_close(4201, "Pong reply not received in time"));
  EXPECT_EQ(result.events,
            (std::vector<Event>{{Kind::Close, "Pong reply not received in time", 4201}}));
}

TEST(WebSocketFrame, EncodeCloseTruncatesReasonAtCharacterBoundary) {
  const std::string ascii(200, 'r');
  const std::string frame = encode_close(1000, ascii);
  EXPECT_EQ(frame.size(), 2u + 125u);
  EXPECT_EQ(parse(Role::Client, frame).events,
            (std::vector<Event>{{Kind::Close, std::string(123, 'r'), 1000}}));

  // 122 ASCII bytes then "é": the 2-byte character would end at byte 124, one past the room.
  const std::string reason = std::string(122, 'r') + "\xc3\xa9" + "tail";
  const auto result = parse(Role::Client, encode_close(1001, reason));
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, (std::vector<Event>{{Kind::Close, std::string(122, 'r'), 1001}}));
}

TEST(WebSocketFrame, ParsesManyFramesInOneBuffer) {
  const auto result = parse_server(conversation());
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, conversation_events());
}

TEST(WebSocketFrame, ParsesByteByByte) {
  const auto result = parse(Role::Server, conversation(), kMax, 1);
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, conversation_events());
}

TEST(WebSocketFrame, ParsesInChunksOfEverySmallSize) {
  for (std::size_t chunk = 2; chunk < 40; ++chunk) {
    EXPECT_EQ(parse(Role::Server, conversation(), kMax, chunk).events, conversation_events())
        << chunk;
  }
}

// Two feeds, split at every position of a stream of small frames (headers included).
TEST(WebSocketFrame, ParsesWhenSplitAtEveryByte) {
  std::string in;
  append_frame(in, Opcode::Text, "hi", kKey);
  in += client_frame(0x02, "bin");
  append_frame(in, Opcode::Ping, "p", kKey);
  in += client_frame(0x80, std::string(130, 'y'));
  in += client_frame(0x88, close_payload(1001));
  const std::vector<Event> expected = {{Kind::Text, "hi"},
                                       {Kind::Ping, "p"},
                                       {Kind::Binary, "bin" + std::string(130, 'y')},
                                       {Kind::Close, "", 1001}};
  for (std::size_t split = 0; split <= in.size(); ++split) {
    FrameParser parser(Role::Server, kMax);
    std::vector<Event> events;
    const auto collect = [&](const ParsedEvent& e) {
      events.push_back({e.kind, std::string(e.payload), e.close_code});
    };
    EXPECT_EQ(parser.feed(std::string_view(in).substr(0, split), collect), ParseError::None);
    EXPECT_EQ(parser.feed(std::string_view(in).substr(split), collect), ParseError::None);
    EXPECT_EQ(events, expected) << split;
  }
}

TEST(WebSocketFrame, DeliversControlFramesBetweenFragments) {
  std::string in = client_frame(0x02, "ab");
  append_frame(in, Opcode::Ping, "1", kKey);
  in += client_frame(0x00, "cd");
  append_frame(in, Opcode::Pong, "2", kKey);
  in += client_frame(0x80, "ef");
  EXPECT_EQ(parse_server(in).events,
            (std::vector<Event>{{Kind::Ping, "1"}, {Kind::Pong, "2"}, {Kind::Binary, "abcdef"}}));
}

TEST(WebSocketFrame, AcceptsUtf8CharacterSplitAcrossFragments) {
  const std::string in = client_frame(0x01, "\xf0\x9f") + client_frame(0x80, "\x98\x80");
  EXPECT_EQ(parse_server(in).events, (std::vector<Event>{{Kind::Text, "\xf0\x9f\x98\x80"}}));
}

TEST(WebSocketFrame, AcceptsNonMinimalLengthEncodings) {
  const std::string payload = "Hello";
  std::string in16 = bytes({0x81, 0xFE, 0x00, 0x05, 0, 0, 0, 0}) + payload;
  std::string in64 = bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0}) + payload;
  EXPECT_EQ(parse_server(in16).events, (std::vector<Event>{{Kind::Text, "Hello"}}));
  EXPECT_EQ(parse_server(in64).events, (std::vector<Event>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrame, ReportsCloseWithoutBodyAs1005) {
  const auto result = parse_server(client_frame(0x88, ""));
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, (std::vector<Event>{{Kind::Close, "", 1005}}));
}

TEST(WebSocketFrame, AcceptsValidCloseCodes) {
  for (unsigned code : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 1012u, 1013u,
                        1014u, 3000u, 3999u, 4000u, 4201u, 4999u}) {
    const auto result = parse_server(client_frame(0x88, close_payload(code, "why")));
    EXPECT_EQ(result.error, ParseError::None) << code;
    EXPECT_EQ(result.events,
              (std::vector<Event>{{Kind::Close, "why", static_cast<std::uint16_t>(code)}}));
  }
}

TEST(WebSocketFrame, RejectsInvalidCloseCodes) {
  for (unsigned code :
       {0u, 1u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 1100u, 2000u, 2999u, 5000u, 65535u}) {
    const auto result = parse_server(client_frame(0x88, close_payload(code)));
    EXPECT_EQ(result.error, ParseError::ProtocolError) << code;
    EXPECT_TRUE(result.events.empty()) << code;
  }
}

TEST(WebSocketFrame, RejectsCloseWithOneByteBody) {
  EXPECT_EQ(parse_server(client_frame(0x88, "\x03")).error, ParseError::ProtocolError);
}

TEST(WebSocketFrame, RejectsCloseReasonThatIsNotUtf8) {
  EXPECT_EQ(parse_server(client_frame(0x88, close_payload(1000, "\xc0\xaf"))).error,
            ParseError::ProtocolError);
}

TEST(WebSocketFrame, RejectsReservedBits) {
  for (std::uint8_t bit : {0x40, 0x20, 0x10}) {
    const auto result = parse_server(client_frame(0x81 | bit, "x"));
    EXPECT_EQ(result.error, ParseError::ProtocolError) << int{bit};
    EXPECT_TRUE(result.events.empty());
  }
}

TEST(WebSocketFrame, RejectsUnknownOpcodes) {
  for (std::uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    EXPECT_EQ(parse_server(client_frame(0x80 | op, "")).error, ParseError::ProtocolError)
        << int{op};
  }
}

TEST(WebSocketFrame, RejectsLongControlFrames) {
  EXPECT_EQ(parse_server(client_frame(0x89, std::string(125, 'p'))).error, ParseError::None);
  for (std::uint8_t first : {0x88, 0x89, 0x8A}) {
    EXPECT_EQ(parse_server(client_frame(first, std::string(126, 'p'))).error,
              ParseError::ProtocolError)
        << int{first};
  }
}

TEST(WebSocketFrame, RejectsFragmentedControlFrames) {
  for (std::uint8_t first : {0x08, 0x09, 0x0A}) {
    EXPECT_EQ(parse_server(client_frame(first, "")).error, ParseError::ProtocolError) << int{first};
  }
}

TEST(WebSocketFrame, RejectsContinuationWithoutStart) {
  EXPECT_EQ(parse_server(client_frame(0x80, "x")).error, ParseError::ProtocolError);
  EXPECT_EQ(parse_server(client_frame(0x00, "x")).error, ParseError::ProtocolError);
  // A finished message does not leave a message open for continuations.
  EXPECT_EQ(parse_server(client_frame(0x81, "a") + client_frame(0x80, "b")).error,
            ParseError::ProtocolError);
}

TEST(WebSocketFrame, RejectsNewDataFrameWhileFragmented) {
  for (std::uint8_t second : {0x81, 0x01, 0x82, 0x02}) {
    const auto result = parse_server(client_frame(0x01, "a") + client_frame(second, "b"));
    EXPECT_EQ(result.error, ParseError::ProtocolError) << int{second};
    EXPECT_TRUE(result.events.empty());
  }
}

TEST(WebSocketFrame, RequiresMaskFromClients) {
  EXPECT_EQ(parse_server(encode_frame(Opcode::Text, "x")).error, ParseError::ProtocolError);
  EXPECT_EQ(parse_server(encode_frame(Opcode::Ping, "")).error, ParseError::ProtocolError);
}

TEST(WebSocketFrame, ForbidsMaskFromServers) {
  std::string masked;
  append_frame(masked, Opcode::Text, "x", kKey);
  EXPECT_EQ(parse(Role::Client, masked).error, ParseError::ProtocolError);
}

TEST(WebSocketFrame, RejectsLengthWithTopBitSet) {
  const auto result = parse_server(bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}),
                                   std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(result.error, ParseError::ProtocolError);
}

TEST(WebSocketFrame, RejectsTextThatIsNotUtf8) {
  EXPECT_EQ(parse_server(client_frame(0x81, "\xed\xa0\x80")).error, ParseError::InvalidUtf8);
  EXPECT_EQ(parse_server(client_frame(0x01, "ok") + client_frame(0x80, "\xf4\x90\x80\x80")).error,
            ParseError::InvalidUtf8);
  // A character cut off by the end of the message.
  EXPECT_EQ(parse_server(client_frame(0x01, "ok") + client_frame(0x80, "\xe2\x82")).error,
            ParseError::InvalidUtf8);
  // Binary messages are not text.
  EXPECT_EQ(parse_server(client_frame(0x82, "\xed\xa0\x80")).error, ParseError::None);
}

TEST(WebSocketFrame, AcceptsMessagesUpToTheLimit) {
  EXPECT_EQ(parse_server(client_frame(0x82, std::string(100, 'x')), 100).error, ParseError::None);
  const std::string fragmented =
      client_frame(0x02, std::string(60, 'x')) + client_frame(0x80, std::string(40, 'x'));
  EXPECT_EQ(parse_server(fragmented, 100).events,
            (std::vector<Event>{{Kind::Binary, std::string(100, 'x')}}));
}

TEST(WebSocketFrame, RejectsOversizeMessageFromItsHeader) {
  FrameParser parser(Role::Server, 100);
  int events = 0;
  const std::string frame = client_frame(0x82, std::string(101, 'x'));
  // Only the header: the announced length is enough to refuse.
  EXPECT_EQ(parser.feed(std::string_view(frame).substr(0, 4), [&](const auto&) { ++events; }),
            ParseError::MessageTooBig);
  EXPECT_EQ(events, 0);
  EXPECT_TRUE(parser.idle());
}

TEST(WebSocketFrame, RejectsHugeAnnouncedLengthWithoutBuffering) {
  FrameParser parser(Role::Server, kMax);
  const std::string header = bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  EXPECT_EQ(parser.feed(header, [](const auto&) {}), ParseError::MessageTooBig);
}

TEST(WebSocketFrame, RejectsFragmentsAddingUpToMoreThanTheLimit) {
  const std::string in = client_frame(0x01, std::string(60, 'x')) +
                         client_frame(0x00, std::string(40, 'x')) + client_frame(0x80, "!");
  EXPECT_EQ(parse_server(in, 100).error, ParseError::MessageTooBig);
}

TEST(WebSocketFrame, ControlFramesAreNotSubjectToTheMessageLimit) {
  std::string in = client_frame(0x01, std::string(10, 'x'));
  append_frame(in, Opcode::Ping, std::string(125, 'p'), kKey);
  in += client_frame(0x80, "");
  EXPECT_EQ(parse_server(in, 10).events, (std::vector<Event>{{Kind::Ping, std::string(125, 'p')},
                                                             {Kind::Text, std::string(10, 'x')}}));
}

TEST(WebSocketFrame, StaysFailedAfterAnError) {
  FrameParser parser(Role::Server, kMax);
  int events = 0;
  const auto count = [&](const ParsedEvent&) { ++events; };
  std::string in;
  append_frame(in, Opcode::Text, "before", kKey);
  in += client_frame(0xC1, "rsv1");
  append_frame(in, Opcode::Text, "after", kKey);
  EXPECT_EQ(parser.feed(in, count), ParseError::ProtocolError);
  EXPECT_EQ(events, 1);
  std::string good;
  append_frame(good, Opcode::Text, "later", kKey);
  EXPECT_EQ(parser.feed(good, count), ParseError::ProtocolError);
  EXPECT_EQ(parser.error(), ParseError::ProtocolError);
  EXPECT_EQ(events, 1);
}

TEST(WebSocketFrame, IgnoresEverythingAfterClose) {
  std::string in = client_frame(0x02, "partial");
  in += client_frame(0x88, close_payload(1000));
  append_frame(in, Opcode::Text, "too late", kKey);
  in += "garbage that would be a protocol error";
  const auto result = parse_server(in);
  EXPECT_EQ(result.error, ParseError::None);
  EXPECT_EQ(result.events, (std::vector<Event>{{Kind::Close, "", 1000}}));
}

TEST(WebSocketFrame, MapsErrorsToCloseCodes) {
  EXPECT_EQ(FrameParser::close_code_for(ParseError::ProtocolError), 1002);
  EXPECT_EQ(FrameParser::close_code_for(ParseError::MessageTooBig), 1009);
  EXPECT_EQ(FrameParser::close_code_for(ParseError::InvalidUtf8), 1007);
  for (ParseError error : {ParseError::None, ParseError::ProtocolError, ParseError::MessageTooBig,
                           ParseError::InvalidUtf8}) {
    EXPECT_NE(std::string(FrameParser::describe(error)), "");
  }
}

TEST(WebSocketFrame, ParserIsSmall) {
  EXPECT_LE(sizeof(FrameParser), 64u);
}

TEST(WebSocketFrame, IsIdleOnlyBetweenMessages) {
  FrameParser parser(Role::Server, kMax);
  const auto ignore = [](const ParsedEvent&) {};
  EXPECT_TRUE(parser.idle());
  const std::string frame = client_frame(0x81, "hello");
  parser.feed(std::string_view(frame).substr(0, 1), ignore);
  EXPECT_FALSE(parser.idle());
  parser.feed(std::string_view(frame).substr(1, 8), ignore);
  EXPECT_FALSE(parser.idle());
  parser.shrink_if_idle();  // must keep the partial frame
  parser.feed(std::string_view(frame).substr(9), ignore);
  EXPECT_TRUE(parser.idle());

  parser.feed(client_frame(0x01, "frag"), ignore);
  EXPECT_FALSE(parser.idle());
  parser.shrink_if_idle();
  std::vector<Event> events;
  parser.feed(client_frame(0x80, "ment"), [&](const ParsedEvent& e) {
    events.push_back({e.kind, std::string(e.payload), e.close_code});
  });
  EXPECT_EQ(events, (std::vector<Event>{{Kind::Text, "fragment"}}));
  EXPECT_TRUE(parser.idle());
  parser.shrink_if_idle();
}

TEST(WebSocketFrame, KeepsWorkingAfterLargeMessages) {
  FrameParser parser(Role::Server, kMax);
  std::vector<Event> events;
  const auto collect = [&](const ParsedEvent& e) {
    events.push_back({e.kind, std::string(e.payload), e.close_code});
  };
  std::string in;
  append_frame(in, Opcode::Binary, std::string(100000, 'L'), kKey);
  append_frame(in, Opcode::Text, "small", kKey);
  EXPECT_EQ(parser.feed(in, collect), ParseError::None);
  parser.shrink_if_idle();
  in.clear();
  append_frame(in, Opcode::Text, "after shrink", kKey);
  EXPECT_EQ(parser.feed(in, collect), ParseError::None);
  EXPECT_EQ(events, (std::vector<Event>{{Kind::Binary, std::string(100000, 'L')},
                                        {Kind::Text, "small"},
                                        {Kind::Text, "after shrink"}}));
}

TEST(WebSocketFrame, StaysConsistentWhenTheHandlerThrows) {
  FrameParser parser(Role::Server, kMax);
  std::string in = client_frame(0x01, "one ");
  append_frame(in, Opcode::Ping, "boom", kKey);
  EXPECT_THROW(parser.feed(in, [](const ParsedEvent&) { throw std::runtime_error("handler"); }),
               std::runtime_error);

  std::vector<Event> events;
  const auto collect = [&](const ParsedEvent& e) {
    events.push_back({e.kind, std::string(e.payload), e.close_code});
  };
  EXPECT_EQ(parser.feed(client_frame(0x80, "two"), collect), ParseError::None);
  EXPECT_THROW(parser.feed(client_frame(0x81, "three"),
                           [](const ParsedEvent&) { throw std::runtime_error("handler"); }),
               std::runtime_error);
  EXPECT_EQ(parser.feed(client_frame(0x81, "four"), collect), ParseError::None);
  EXPECT_EQ(events, (std::vector<Event>{{Kind::Text, "one two"}, {Kind::Text, "four"}}));
}

}  // namespace
}  // namespace greendot::protocol::websocket
