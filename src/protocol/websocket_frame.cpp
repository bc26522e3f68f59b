#include "protocol/websocket_frame.hpp"

#include "protocol/utf8.hpp"

#include <algorithm>
#include <cstring>

namespace greendot::protocol::websocket {

namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
constexpr std::size_t kMaxControlPayload = 125;
constexpr std::uint16_t kNoStatusCode = 1005;
// Buffers up to this size are kept between messages; larger ones are given back.
constexpr std::size_t kKeptCapacity = 4096;

bool is_control(Opcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

ParsedEvent::Kind kind_of(Opcode op) {
  switch (op) {
    case Opcode::Text:
      return ParsedEvent::Kind::Text;
    case Opcode::Binary:
      return ParsedEvent::Kind::Binary;
    case Opcode::Ping:
      return ParsedEvent::Kind::Ping;
    case Opcode::Pong:
      return ParsedEvent::Kind::Pong;
    default:
      return ParsedEvent::Kind::Close;
  }
}

// RFC 6455 §7.4: codes a peer may send. 1004-1006 and 1015 are reserved or only for local use,
// 1016-2999 are reserved for future protocol revisions, and nothing is defined above 4999.
bool valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && (code < 1004 || code > 1006);
}

// XORs `data` with the repeating 4-byte `key`, starting at key[0]; eight bytes at a time
// because server-side every received payload byte passes through here.
void apply_mask(char* data, std::size_t size, const std::array<std::uint8_t, 4>& key) {
  const std::uint8_t pattern[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::uint64_t wide_key;
  std::memcpy(&wide_key, pattern, sizeof wide_key);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, sizeof word);
    word ^= wide_key;
    std::memcpy(data + i, &word, sizeof word);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[i % 4]);
}

// The key as it applies to the byte after `unmasked` bytes: rotated so that it starts at
// key[unmasked % 4]. Written out rather than with std::rotate, for which GCC 12 at -O3 reports a
// false -Wstringop-overflow.
std::array<std::uint8_t, 4> key_after(const std::array<std::uint8_t, 4>& key,
                                      std::size_t unmasked) {
  std::array<std::uint8_t, 4> rotated{};
  for (std::size_t i = 0; i < rotated.size(); ++i) rotated[i] = key[(i + unmasked) % key.size()];
  return rotated;
}

// Cuts the buffer back to `keep` bytes once the event handler returns or throws, so that the
// delivered payload never leaks into the next message. A large allocation is given back when
// nothing remains, since most connections only ever see small messages.
class TrimAfterDelivery {
 public:
  TrimAfterDelivery(std::string& buffer, std::size_t keep) : buffer_(buffer), keep_(keep) {}
  TrimAfterDelivery(const TrimAfterDelivery&) = delete;
  TrimAfterDelivery& operator=(const TrimAfterDelivery&) = delete;
  ~TrimAfterDelivery() {
    if (keep_ == 0 && buffer_.capacity() > kKeptCapacity) {
      std::string().swap(buffer_);
    } else {
      buffer_.resize(keep_);
    }
  }

 private:
  std::string& buffer_;
  std::size_t keep_;
};

}  // namespace

// Every connection holds a parser, idle or not.
static_assert(sizeof(FrameParser) <= sizeof(std::string) + 32);

FrameParser::FrameParser(Role role, std::size_t max_message_bytes)
    : max_message_bytes_(max_message_bytes), mask_required_(role == Role::Server) {}

std::uint16_t FrameParser::close_code_for(ParseError error) {
  switch (error) {
    case ParseError::None:
      return 1000;
    case ParseError::ProtocolError:
      return 1002;
    case ParseError::MessageTooBig:
      return 1009;
    case ParseError::InvalidUtf8:
      return 1007;
  }
  return 1002;
}

const char* FrameParser::describe(ParseError error) {
  switch (error) {
    case ParseError::None:
      return "no error";
    case ParseError::ProtocolError:
      return "WebSocket protocol error";
    case ParseError::MessageTooBig:
      return "message too big";
    case ParseError::InvalidUtf8:
      return "invalid UTF-8 in text message";
  }
  return "unknown error";
}

bool FrameParser::idle() const {
  return state_ == State::Done ||
         (state_ == State::FirstByte && message_opcode_ == Opcode::Continuation);
}

void FrameParser::shrink_if_idle() {
  if (idle()) std::string().swap(buffer_);
}

ParseError FrameParser::feed_erased(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty() && state_ != State::Done) {
    if (state_ == State::Payload) {
      bytes = consume_payload(bytes, sink);
    } else {
      const auto byte = static_cast<std::uint8_t>(bytes.front());
      bytes.remove_prefix(1);
      header_byte(byte, sink);
    }
  }
  return error_;
}

// The header is read a byte at a time: it is at most 14 bytes, and this way a header split
// across reads needs no buffer of its own.
void FrameParser::header_byte(std::uint8_t byte, const Sink& sink) {
  switch (state_) {
    case State::FirstByte:
      on_first_byte(byte);
      return;
    case State::SecondByte:
      on_second_byte(byte, sink);
      return;
    case State::ExtendedLength:
      remaining_ = (remaining_ << 8) | byte;
      if (--header_bytes_left_ == 0) on_payload_length(sink);
      return;
    case State::MaskKey:
      mask_[mask_.size() - header_bytes_left_] = byte;
      if (--header_bytes_left_ == 0) start_payload(sink);
      return;
    case State::Payload:
    case State::Done:
      return;  // not header states; feed_erased never gets here with them
  }
}

void FrameParser::on_first_byte(std::uint8_t byte) {
  // No extensions are negotiated, so no reserved bit may be set (RFC 6455 §5.2).
  if ((byte & kReservedBits) != 0) return fail(ParseError::ProtocolError);
  fin_ = (byte & kFinBit) != 0;
  opcode_ = static_cast<Opcode>(byte & kOpcodeBits);
  const bool in_message = message_opcode_ != Opcode::Continuation;
  switch (opcode_) {
    case Opcode::Continuation:
      if (!in_message) return fail(ParseError::ProtocolError);
      break;
    case Opcode::Text:
    case Opcode::Binary:
      if (in_message) return fail(ParseError::ProtocolError);
      break;
    case Opcode::Close:
    case Opcode::Ping:
    case Opcode::Pong:
      if (!fin_) return fail(ParseError::ProtocolError);  // control frames are never fragmented
      break;
    default:
      return fail(ParseError::ProtocolError);
  }
  state_ = State::SecondByte;
}

void FrameParser::on_second_byte(std::uint8_t byte, const Sink& sink) {
  masked_ = (byte & kMaskBit) != 0;
  if (masked_ != mask_required_) return fail(ParseError::ProtocolError);
  const std::uint8_t length = byte & kLengthBits;
  if (length < kLength16) {
    remaining_ = length;
    on_payload_length(sink);
    return;
  }
  remaining_ = 0;
  header_bytes_left_ = length == kLength64 ? 8 : 2;
  state_ = State::ExtendedLength;
}

void FrameParser::on_payload_length(const Sink& sink) {
  if ((remaining_ >> 63) != 0) return fail(ParseError::ProtocolError);
  if (is_control(opcode_)) {
    if (remaining_ > kMaxControlPayload) return fail(ParseError::ProtocolError);
  } else if (remaining_ > max_message_bytes_ - buffer_.size()) {
    // Refused on the announcement alone, before any of the payload is buffered. The buffer
    // holds only the partial message here, which never exceeds the limit.
    return fail(ParseError::MessageTooBig);
  }
  if (masked_) {
    header_bytes_left_ = static_cast<std::uint8_t>(mask_.size());
    state_ = State::MaskKey;
    return;
  }
  start_payload(sink);
}

void FrameParser::start_payload(const Sink& sink) {
  state_ = State::Payload;
  if (is_control(opcode_)) control_size_ = static_cast<std::uint8_t>(remaining_);
  if (remaining_ == 0) finish_frame(sink);
}

std::string_view FrameParser::consume_payload(std::string_view bytes, const Sink& sink) {
  const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
  const std::size_t start = buffer_.size();
  buffer_.append(bytes.substr(0, size));
  if (masked_) {
    apply_mask(buffer_.data() + start, size, mask_);
    mask_ = key_after(mask_, size);
  }
  remaining_ -= size;
  if (remaining_ == 0) finish_frame(sink);
  return bytes.substr(size);
}

void FrameParser::finish_frame(const Sink& sink) {
  state_ = State::FirstByte;
  if (is_control(opcode_)) {
    finish_control_frame(sink);
  } else {
    finish_data_frame(sink);
  }
}

void FrameParser::finish_control_frame(const Sink& sink) {
  const std::size_t start = buffer_.size() - control_size_;
  const std::string_view payload = std::string_view(buffer_).substr(start);
  ParsedEvent event{kind_of(opcode_), payload};
  if (opcode_ == Opcode::Close) {
    if (payload.empty()) {
      event.close_code = kNoStatusCode;
    } else {
      if (payload.size() < 2) return fail(ParseError::ProtocolError);
      event.close_code = static_cast<std::uint16_t>(static_cast<std::uint8_t>(payload[0]) << 8 |
                                                    static_cast<std::uint8_t>(payload[1]));
      event.payload = payload.substr(2);
      if (!valid_close_code(event.close_code) || !valid_utf8(event.payload)) {
        return fail(ParseError::ProtocolError);
      }
    }
    // Nothing may follow a Close frame (RFC 6455 §5.5.1), and a partial message never completes.
    state_ = State::Done;
    message_opcode_ = Opcode::Continuation;
  }
  const TrimAfterDelivery trim(buffer_, state_ == State::Done ? 0 : start);
  sink(event);
}

void FrameParser::finish_data_frame(const Sink& sink) {
  if (opcode_ != Opcode::Continuation) message_opcode_ = opcode_;
  if (!fin_) return;
  const Opcode message_opcode = message_opcode_;
  message_opcode_ = Opcode::Continuation;
  if (message_opcode == Opcode::Text && !valid_utf8(buffer_)) {
    return fail(ParseError::InvalidUtf8);
  }
  const TrimAfterDelivery trim(buffer_, 0);
  sink(ParsedEvent{kind_of(message_opcode), buffer_});
}

void FrameParser::fail(ParseError error) {
  error_ = error;
  state_ = State::Done;
  message_opcode_ = Opcode::Continuation;
  std::string().swap(buffer_);
}

std::size_t frame_header_size(std::size_t payload_size) {
  if (payload_size < kLength16) return 2;
  if (payload_size <= 0xFFFF) return 4;
  return 10;
}

void append_frame(std::string& out, Opcode op, std::string_view payload,
                  const std::uint8_t* mask_key) {
  // Built on the stack and appended once, so `out` grows at most twice per frame.
  char header[14];
  std::size_t header_size = 0;
  const std::uint8_t mask_bit = mask_key != nullptr ? kMaskBit : 0;
  header[header_size++] = static_cast<char>(kFinBit | static_cast<std::uint8_t>(op));
  std::size_t length_bytes = 0;
  if (payload.size() < kLength16) {
    header[header_size++] = static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    header[header_size++] = static_cast<char>(mask_bit | kLength16);
    length_bytes = 2;
  } else {
    header[header_size++] = static_cast<char>(mask_bit | kLength64);
    length_bytes = 8;
  }
  for (std::size_t i = length_bytes; i-- > 0;) {
    header[header_size++] =
        static_cast<char>(static_cast<std::uint64_t>(payload.size()) >> (8 * i));
  }
  if (mask_key != nullptr) {
    std::memcpy(header + header_size, mask_key, 4);
    header_size += 4;
  }
  out.append(header, header_size);

  const std::size_t start = out.size();
  out.append(payload);
  if (mask_key != nullptr) {
    apply_mask(out.data() + start, payload.size(),
               {mask_key[0], mask_key[1], mask_key[2], mask_key[3]});
  }
}

std::string encode_frame(Opcode op, std::string_view payload) {
  std::string out;
  out.reserve(frame_header_size(payload.size()) + payload.size());
  append_frame(out, op, payload);
  return out;
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
  constexpr std::size_t kMaxReason = kMaxControlPayload - 2;
  if (reason.size() > kMaxReason) {
    // Back up to the start of a character so that the reason stays valid UTF-8.
    std::size_t cut = kMaxReason;
    while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  std::string payload;
  payload.reserve(2 + reason.size());
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return encode_frame(Opcode::Close, payload);
}

}  // namespace greendot::protocol::websocket
