#include "redis/resp.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace greendot::redis {
namespace {

using Type = Reply::Type;

// Every complete reply of `bytes`, fed in pieces of `step` bytes.
std::vector<Reply> read_all(std::string_view bytes, std::size_t step = 0) {
  ReplyReader reader;
  std::vector<Reply> replies;
  auto drain = [&] {
    for (;;) {
      auto next = reader.next();
      if (auto* reply = std::get_if<Reply>(&next)) {
        replies.push_back(std::move(*reply));
        continue;
      }
      EXPECT_FALSE(std::holds_alternative<ProtocolError>(next))
          << std::get<ProtocolError>(next).message;
      return;
    }
  };
  if (step == 0) step = bytes.size();
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    reader.feed(bytes.substr(i, step));
    drain();
  }
  return replies;
}

std::string error_of(std::string_view bytes) {
  ReplyReader reader;
  reader.feed(bytes);
  for (;;) {
    auto next = reader.next();
    if (auto* error = std::get_if<ProtocolError>(&next)) return error->message;
    if (std::holds_alternative<std::monostate>(next)) return "";
  }
}

TEST(RespCommand, ArraysOfBulkStringsBinarySafe) {
  const std::array<std::string_view, 3> args{"SET", "k", std::string_view("a\r\nb\0c", 6)};
  EXPECT_EQ(format_command(args),
            std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n", 32));
  EXPECT_EQ(format_command(std::array<std::string_view, 1>{""}), "*1\r\n$0\r\n\r\n");
}

TEST(RespReader, EveryRespTwoType) {
  const auto replies =
      read_all("+OK\r\n-ERR no\r\n:-42\r\n$3\r\nfoo\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n:1\r\n");
  ASSERT_EQ(replies.size(), 7u);
  EXPECT_EQ(replies[0].type, Type::SimpleString);
  EXPECT_EQ(replies[0].text, "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[1].text, "ERR no");
  EXPECT_EQ(replies[2].integer, -42);
  EXPECT_EQ(replies[3].text, "foo");
  EXPECT_EQ(replies[4].type, Type::Null);
  EXPECT_EQ(replies[5].type, Type::Null);
  ASSERT_EQ(replies[6].elements.size(), 2u);
  EXPECT_EQ(replies[6].elements[0].text, "a");
  EXPECT_EQ(replies[6].elements[1].integer, 1);
}

TEST(RespReader, RespThreeTypes) {
  const auto replies = read_all(
      "_\r\n,3.5\r\n#t\r\n#f\r\n(12345678901234567890\r\n!5\r\nOOPS!\r\n=7\r\ntxt:abc\r\n"
      "%1\r\n+server\r\n+redis\r\n~1\r\n:7\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n"
      "|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n");
  ASSERT_EQ(replies.size(), 11u);
  EXPECT_EQ(replies[0].type, Type::Null);
  EXPECT_EQ(replies[1].text, "3.5");
  EXPECT_EQ(replies[2].integer, 1);
  EXPECT_EQ(replies[3].integer, 0);
  EXPECT_EQ(replies[4].text, "12345678901234567890");
  EXPECT_TRUE(replies[5].is_error());
  EXPECT_EQ(replies[5].text, "OOPS!");
  EXPECT_EQ(replies[6].text, "abc") << "the format prefix is not text";
  ASSERT_EQ(replies[7].type, Type::Map);
  ASSERT_EQ(replies[7].elements.size(), 2u);
  EXPECT_EQ(replies[7].elements[1].text, "redis");
  EXPECT_EQ(replies[8].elements[0].integer, 7);
  EXPECT_EQ(replies[9].type, Type::Push);
  EXPECT_EQ(replies[9].elements[2].text, "hi");
  EXPECT_EQ(replies[10].text, "v") << "attributes are skipped, the reply they describe kept";
}

TEST(RespReader, RepliesSplitAnywhereAreTheSame) {
  const std::string bytes = "*3\r\n$5\r\nhello\r\n*1\r\n:99\r\n+done\r\n:5\r\n";
  const auto whole = read_all(bytes);
  for (std::size_t step = 1; step < bytes.size(); ++step) {
    const auto pieces = read_all(bytes, step);
    ASSERT_EQ(pieces.size(), whole.size()) << "step " << step;
    EXPECT_EQ(pieces[0].elements[1].elements[0].integer, 99) << "step " << step;
    EXPECT_EQ(pieces[1].integer, 5) << "step " << step;
  }
}

TEST(RespReader, AnIncompleteReplyWaits) {
  ReplyReader reader;
  reader.feed("$10\r\nabc");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(reader.next()));
  EXPECT_EQ(reader.buffered(), 8u);
  reader.feed("defghij\r\n");
  auto next = reader.next();
  ASSERT_TRUE(std::holds_alternative<Reply>(next));
  EXPECT_EQ(std::get<Reply>(next).text, "abcdefghij");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(RespReader, WhatIsNotRespEndsTheStream) {
  EXPECT_NE(error_of("hello\r\n"), "");
  EXPECT_NE(error_of(":12x\r\n"), "");
  EXPECT_NE(error_of("$-2\r\n"), "");
  EXPECT_NE(error_of("$3\r\nfooXY"), "") << "a string must end with CRLF";
  EXPECT_NE(error_of("#x\r\n"), "");
  EXPECT_NE(error_of("%-1\r\n"), "");
  EXPECT_NE(error_of("=3\r\nabc\r\n"), "") << "no format prefix";
  ReplyReader reader;
  reader.feed("?\r\n+OK\r\n");
  EXPECT_TRUE(std::holds_alternative<ProtocolError>(reader.next()));
  EXPECT_TRUE(std::holds_alternative<ProtocolError>(reader.next())) << "it stays failed";
}

TEST(RespReader, LimitsHoldAgainstHostileReplies) {
  ReaderLimits limits;
  limits.max_bulk_bytes = 16;
  limits.max_elements = 4;
  limits.max_depth = 3;
  auto error = [&](std::string_view bytes) {
    ReplyReader reader(limits);
    reader.feed(bytes);
    auto next = reader.next();
    return std::holds_alternative<ProtocolError>(next);
  };
  EXPECT_TRUE(error("$17\r\n"));
  EXPECT_FALSE(error("$16\r\n")) << "waits for the 16 bytes";
  EXPECT_TRUE(error("*5\r\n"));
  EXPECT_TRUE(error("%3\r\n"));
  EXPECT_TRUE(error("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"));
  EXPECT_TRUE(error("|0\r\n|0\r\n|0\r\n|0\r\n|0\r\n:1\r\n")) << "attribute chains are bounded";
  EXPECT_TRUE(error(std::string(40, 'x'))) << "a line that never ends";
}

}  // namespace
}  // namespace greendot::redis
