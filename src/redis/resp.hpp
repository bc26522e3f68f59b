// RESP, the Redis protocol: commands out (arrays of bulk strings, which every Redis accepts) and
// replies in, in RESP2 and RESP3 (HELLO 3: maps, sets, doubles, booleans, push messages for
// pub/sub on a shared connection). Pure functions and an incremental reader, no I/O: the
// client's connections feed it whatever the socket gave them. Our own rather than hiredis's
// reader: Debian 12's libhiredis (0.14) predates RESP3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace greendot::redis {

// Appends one command: `*<n>\r\n` then `$<len>\r\n<arg>\r\n` for each argument. Binary-safe.
void append_command(std::string& out, std::span<const std::string_view> args);
std::string format_command(std::span<const std::string_view> args);

struct Reply {
  enum class Type {
    SimpleString,  // +OK
    Error,         // -ERR ... and RESP3 blob errors (!)
    Integer,       // :1
    Bulk,          // $3 foo, and RESP3 verbatim strings (=) without their format prefix
    Null,          // $-1, *-1, RESP3 _
    Double,        // RESP3 ,1.5 (text kept as sent in `text`)
    Boolean,       // RESP3 #t / #f (in `integer`: 1 or 0)
    BigNumber,     // RESP3 (123... (digits in `text`)
    Array,         // *, and RESP3 sets (~)
    Map,           // RESP3 %: `elements` holds key, value, key, value...
    Push,          // RESP3 >: pub/sub messages and invalidations, out of band
  };
  Type type = Type::Null;
  std::string text;  // strings, errors, doubles, big numbers
  std::int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::Error; }
  bool is_string() const { return type == Type::SimpleString || type == Type::Bulk; }
};

struct ReaderLimits {
  std::size_t max_bulk_bytes = 64 * 1024 * 1024;  // one string
  std::size_t max_elements = 1 << 20;             // of one aggregate
  std::size_t max_depth = 64;                     // nested aggregates
};

// What the stream holds that is not RESP: the connection cannot be trusted any more.
struct ProtocolError {
  std::string message;
};

// Fed bytes as they arrive, hands out complete replies in order. A reply split anywhere
// (even inside "\r\n") is completed by later bytes.
class ReplyReader {
 public:
  explicit ReplyReader(ReaderLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  // The next complete reply, nothing while one is incomplete, or the error that ended the
  // stream (after which it stays failed).
  std::variant<std::monostate, Reply, ProtocolError> next();
  // Bytes received and not yet consumed by a complete reply.
  std::size_t buffered() const { return buffer_.size() - position_; }

 private:
  enum class Parse { Done, NeedMore, Failed };
  Parse parse(std::size_t& at, Reply& out, std::size_t depth);
  std::optional<std::string_view> line(std::size_t& at) const;

  ReaderLimits limits_;
  std::string buffer_;
  std::size_t position_ = 0;  // start of the first reply not yet handed out
  std::optional<ProtocolError> failed_;
};

}  // namespace greendot::redis
