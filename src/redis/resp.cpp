#include "redis/resp.hpp"

#include <charconv>

namespace greendot::redis {

void append_command(std::string& out, std::span<const std::string_view> args) {
  out.push_back('*');
  out.append(std::to_string(args.size()));
  out.append("\r\n");
  for (const auto arg : args) {
    out.push_back('$');
    out.append(std::to_string(arg.size()));
    out.append("\r\n");
    out.append(arg);
    out.append("\r\n");
  }
}

std::string format_command(std::span<const std::string_view> args) {
  std::string out;
  append_command(out, args);
  return out;
}

namespace {

std::optional<std::int64_t> to_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

void ReplyReader::feed(std::string_view bytes) {
  if (failed_) return;
  // Consumed bytes are dropped once they are the larger part, so the buffer stays about the
  // size of the reply being read.
  if (position_ > 0 && position_ >= buffer_.size() / 2) {
    buffer_.erase(0, position_);
    position_ = 0;
  }
  buffer_.append(bytes);
}

// The text of the line starting at `at`, with `at` moved past its "\r\n".
std::optional<std::string_view> ReplyReader::line(std::size_t& at) const {
  const std::size_t end = buffer_.find("\r\n", at);
  if (end == std::string::npos) return std::nullopt;
  std::string_view text(buffer_.data() + at, end - at);
  at = end + 2;
  return text;
}

std::variant<std::monostate, Reply, ProtocolError> ReplyReader::next() {
  if (failed_) return *failed_;
  if (position_ == buffer_.size()) return std::monostate{};
  std::size_t at = position_;
  Reply reply;
  // An incomplete reply is parsed again from its start when more bytes come: simple, and
  // replies are small next to the reads that carry them.
  switch (parse(at, reply, 0)) {
    case Parse::NeedMore:
      return std::monostate{};
    case Parse::Failed:
      return *failed_;
    case Parse::Done:
      break;
  }
  position_ = at;
  return reply;
}

ReplyReader::Parse ReplyReader::parse(std::size_t& at, Reply& out, std::size_t depth) {
  auto fail = [&](std::string message) {
    failed_ = ProtocolError{std::move(message)};
    return Parse::Failed;
  };
  if (depth > limits_.max_depth) return fail("replies nested deeper than the limit");
  if (at >= buffer_.size()) return Parse::NeedMore;
  const char kind = buffer_[at++];
  const auto header = line(at);
  if (!header) {
    // A line longer than any header or simple reply can be is not RESP.
    if (buffer_.size() - at > limits_.max_bulk_bytes) return fail("a line without its end");
    return Parse::NeedMore;
  }
  using Type = Reply::Type;
  switch (kind) {
    case '+':
      out.type = Type::SimpleString;
      out.text = std::string(*header);
      return Parse::Done;
    case '-':
      out.type = Type::Error;
      out.text = std::string(*header);
      return Parse::Done;
    case ':': {
      const auto value = to_integer(*header);
      if (!value) return fail("an integer reply that is not a number");
      out.type = Type::Integer;
      out.integer = *value;
      return Parse::Done;
    }
    case '_':
      if (!header->empty()) return fail("a null with a payload");
      out.type = Type::Null;
      return Parse::Done;
    case ',':
      out.type = Type::Double;
      out.text = std::string(*header);
      return Parse::Done;
    case '(':
      out.type = Type::BigNumber;
      out.text = std::string(*header);
      return Parse::Done;
    case '#':
      if (*header != "t" && *header != "f") return fail("a boolean that is not t or f");
      out.type = Type::Boolean;
      out.integer = *header == "t" ? 1 : 0;
      return Parse::Done;
    case '$':
    case '!':
    case '=': {
      const auto length = to_integer(*header);
      if (!length || *length < -1) return fail("a string length that is not a length");
      if (*length == -1) {
        if (kind != '$') return fail("a null blob error or verbatim string");
        out.type = Type::Null;
        return Parse::Done;
      }
      const auto size = static_cast<std::size_t>(*length);
      if (size > limits_.max_bulk_bytes) return fail("a string larger than the limit");
      if (buffer_.size() - at < size + 2) return Parse::NeedMore;
      if (buffer_.compare(at + size, 2, "\r\n") != 0) return fail("a string without its end");
      std::string_view text(buffer_.data() + at, size);
      at += size + 2;
      if (kind == '=') {
        // "txt:" or "mkd:" first: the format, not the text.
        if (text.size() < 4 || text[3] != ':') return fail("a verbatim string without format");
        text.remove_prefix(4);
      }
      out.type = kind == '!' ? Type::Error : Type::Bulk;
      out.text = std::string(text);
      return Parse::Done;
    }
    case '*':
    case '~':
    case '%':
    case '>': {
      const auto count = to_integer(*header);
      if (!count || *count < -1) return fail("an aggregate length that is not a length");
      if (*count == -1) {
        if (kind != '*') return fail("a null aggregate other than an array");
        out.type = Type::Null;
        return Parse::Done;
      }
      std::size_t elements = static_cast<std::size_t>(*count);
      if (kind == '%') {
        if (elements > limits_.max_elements / 2) return fail("a map larger than the limit");
        elements *= 2;
      } else if (elements > limits_.max_elements) {
        return fail("an aggregate larger than the limit");
      }
      out.type = kind == '%' ? Type::Map : kind == '>' ? Type::Push : Type::Array;
      // Reserved as they arrive, not from the announced count, which costs nothing to send.
      for (std::size_t i = 0; i < elements; ++i) {
        Reply element;
        const Parse result = parse(at, element, depth + 1);
        if (result != Parse::Done) return result;
        out.elements.push_back(std::move(element));
      }
      return Parse::Done;
    }
    case '|': {
      // Attributes describe the reply that follows them; nothing here uses them.
      const auto count = to_integer(*header);
      if (!count || *count < 0) return fail("an attribute length that is not a length");
      if (static_cast<std::size_t>(*count) > limits_.max_elements / 2) {
        return fail("attributes larger than the limit");
      }
      for (std::int64_t i = 0; i < *count * 2; ++i) {
        Reply ignored;
        const Parse result = parse(at, ignored, depth + 1);
        if (result != Parse::Done) return result;
      }
      // One level deeper: a chain of attributes must not recurse without bound.
      return parse(at, out, depth + 1);
    }
    default:
      return fail(std::string("an unknown reply type '") + kind + "'");
  }
}

}  // namespace greendot::redis
