// RFC 6455 framing: an incremental frame parser and a frame encoder. No I/O, no extensions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace greendot::protocol::websocket {

enum class Opcode : std::uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

// Server parses masked client frames (mask required); Client parses unmasked server frames
// (mask forbidden).
enum class Role { Server, Client };

struct ParsedEvent {
  enum class Kind { Text, Binary, Ping, Pong, Close };
  Kind kind;
  // Valid only during the callback. For Close: the reason text.
  std::string_view payload;
  // For Close: the code from the frame, 1005 if the frame had no body. 0 for other kinds.
  std::uint16_t close_code = 0;
};

enum class ParseError : std::uint8_t {
  None,
  ProtocolError,  // close with 1002
  MessageTooBig,  // close with 1009
  InvalidUtf8,    // close with 1007
};

// Turns a byte stream into whole messages and control frames. Held by every connection, so it
// is small when idle: one string buffer plus a few bytes of state.
//
// A data message is reassembled in the buffer; a control frame arriving between fragments is
// appended after the partial message and cut off again once delivered. Every payload byte is
// copied once (and unmasked in that copy). After a Close frame or an error nothing more is parsed.
class FrameParser {
 public:
  FrameParser(Role role, std::size_t max_message_bytes);

  // Consumes all of `bytes`, calling on_event(const ParsedEvent&) for each complete message or
  // control frame, in order. Returns the first error; after an error the parser stays failed and
  // ignores further input. If on_event throws, the exception propagates, the parser stays
  // consistent and the rest of `bytes` is dropped.
  template <class OnEvent>
  ParseError feed(std::string_view bytes, OnEvent&& on_event) {
    using Handler = std::remove_reference_t<OnEvent>;
    const Sink sink{
        [](void* handler, const ParsedEvent& event) { (*static_cast<Handler*>(handler))(event); },
        const_cast<void*>(static_cast<const void*>(std::addressof(on_event)))};
    return feed_erased(bytes, sink);
  }

  ParseError error() const { return error_; }
  static std::uint16_t close_code_for(ParseError error);
  static const char* describe(ParseError error);

  // Releases buffered memory when nothing partial is pending (called by idle connections).
  void shrink_if_idle();
  // No partial frame or message buffered.
  bool idle() const;

 private:
  // Type-erased event handler, so the state machine lives in the .cpp file.
  struct Sink {
    void (*call)(void* handler, const ParsedEvent& event);
    void* handler;
    void operator()(const ParsedEvent& event) const { call(handler, event); }
  };

  enum class State : std::uint8_t { FirstByte, SecondByte, ExtendedLength, MaskKey, Payload, Done };

  ParseError feed_erased(std::string_view bytes, const Sink& sink);
  void header_byte(std::uint8_t byte, const Sink& sink);
  void on_first_byte(std::uint8_t byte);
  void on_second_byte(std::uint8_t byte, const Sink& sink);
  void on_payload_length(const Sink& sink);
  void start_payload(const Sink& sink);
  std::string_view consume_payload(std::string_view bytes, const Sink& sink);
  void finish_frame(const Sink& sink);
  void finish_control_frame(const Sink& sink);
  void finish_data_frame(const Sink& sink);
  void fail(ParseError error);

  // The partial data message, followed by the partial control frame if one is in progress.
  std::string buffer_;
  // Extended length while it is being read, then payload bytes still to come in this frame.
  std::uint64_t remaining_ = 0;
  std::size_t max_message_bytes_;
  // Rotated as bytes are unmasked, so that the next payload byte always uses mask_[0].
  std::array<std::uint8_t, 4> mask_{};
  State state_ = State::FirstByte;
  // Header bytes still to read in ExtendedLength and MaskKey.
  std::uint8_t header_bytes_left_ = 0;
  Opcode opcode_ = Opcode::Continuation;
  // Opcode of the fragmented message in progress; Continuation when there is none.
  Opcode message_opcode_ = Opcode::Continuation;
  // Payload length of the control frame in progress (at most 125).
  std::uint8_t control_size_ = 0;
  bool fin_ = false;
  bool masked_ = false;
  bool mask_required_;
  ParseError error_ = ParseError::None;
};

// Appends one complete FIN frame. Server frames are unmasked; pass a 4-byte mask key (client
// role, e.g. for load generators) to mask.
void append_frame(std::string& out, Opcode op, std::string_view payload,
                  const std::uint8_t* mask_key = nullptr);
std::string encode_frame(Opcode op, std::string_view payload);
// A Close frame; the reason is truncated at a UTF-8 boundary to keep the payload <= 125 bytes.
std::string encode_close(std::uint16_t code, std::string_view reason);
// Header size of an unmasked frame: 2, 4 or 10.
std::size_t frame_header_size(std::size_t payload_size);

}  // namespace greendot::protocol::websocket
