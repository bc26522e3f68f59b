#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace greendot::protocol::websocket {
namespace {

std::string bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (unsigned v : values) out.push_back(static_cast<char>(v));
  return out;
}

// The definition, written for clarity rather than speed: decode each sequence, then reject
// overlongs, surrogates and code points above U+10FFFF.
bool reference_valid(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    std::size_t length;
    std::uint32_t code_point;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = code_point << 6 | (next & 0x3F);
    }
    static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinimum[length]) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;
    if (code_point > 0x10FFFF) return false;
    i += length;
  }
  return true;
}

TEST(Utf8, AcceptsAsciiAndEmpty) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("a"));
  EXPECT_TRUE(valid_utf8(R"({"event":"pusher:ping","data":{}})"));
  EXPECT_TRUE(valid_utf8(std::string("\0\x7f", 2)));
}

TEST(Utf8, AcceptsMultiByteCharacters) {
  EXPECT_TRUE(valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
  EXPECT_TRUE(valid_utf8(bytes({0xC2, 0x80})));                             // U+0080
  EXPECT_TRUE(valid_utf8(bytes({0xDF, 0xBF})));                             // U+07FF
  EXPECT_TRUE(valid_utf8(bytes({0xE0, 0xA0, 0x80})));                       // U+0800
  EXPECT_TRUE(valid_utf8(bytes({0xED, 0x9F, 0xBF})));                       // U+D7FF
  EXPECT_TRUE(valid_utf8(bytes({0xEE, 0x80, 0x80})));                       // U+E000
  EXPECT_TRUE(valid_utf8(bytes({0xEF, 0xBF, 0xBF})));                       // U+FFFF
  EXPECT_TRUE(valid_utf8(bytes({0xF0, 0x90, 0x80, 0x80})));                 // U+10000
  EXPECT_TRUE(valid_utf8(bytes({0xF0, 0x9F, 0x98, 0x80})));                 // U+1F600
  EXPECT_TRUE(valid_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})));                 // U+10FFFF
}

TEST(Utf8, RejectsOverlongForms) {
  EXPECT_FALSE(valid_utf8(bytes({0xC0, 0xAF})));
  EXPECT_FALSE(valid_utf8(bytes({0xC1, 0xBF})));
  EXPECT_FALSE(valid_utf8(bytes({0xE0, 0x80, 0xAF})));
  EXPECT_FALSE(valid_utf8(bytes({0xE0, 0x9F, 0xBF})));
  EXPECT_FALSE(valid_utf8(bytes({0xF0, 0x80, 0x80, 0xAF})));
  EXPECT_FALSE(valid_utf8(bytes({0xF0, 0x8F, 0xBF, 0xBF})));
}

TEST(Utf8, RejectsSurrogates) {
  EXPECT_FALSE(valid_utf8(bytes({0xED, 0xA0, 0x80})));                    // U+D800
  EXPECT_FALSE(valid_utf8(bytes({0xED, 0xBF, 0xBF})));                    // U+DFFF
  EXPECT_FALSE(valid_utf8(bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80})));  // a CESU-8 pair
}

TEST(Utf8, RejectsCodePointsAboveMaximum) {
  EXPECT_FALSE(valid_utf8(bytes({0xF4, 0x90, 0x80, 0x80})));  // U+110000
  EXPECT_FALSE(valid_utf8(bytes({0xF5, 0x80, 0x80, 0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0xF7, 0xBF, 0xBF, 0xBF})));
  EXPECT_FALSE(valid_utf8(bytes({0xF8, 0x88, 0x80, 0x80, 0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0xFE})));
  EXPECT_FALSE(valid_utf8(bytes({0xFF})));
}

TEST(Utf8, RejectsStrayAndTruncatedSequences) {
  EXPECT_FALSE(valid_utf8(bytes({0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0x41, 0xBF})));
  EXPECT_FALSE(valid_utf8(bytes({0xC3})));
  EXPECT_FALSE(valid_utf8(bytes({0xC3, 0x41})));
  EXPECT_FALSE(valid_utf8(bytes({0xE2, 0x82})));
  EXPECT_FALSE(valid_utf8(bytes({0xE2, 0x82, 0x41})));
  EXPECT_FALSE(valid_utf8(bytes({0xF0, 0x9F, 0x98})));
  EXPECT_FALSE(valid_utf8(bytes({0xF0, 0x9F, 0x98, 0x41})));
}

// The ASCII fast path reads 8 bytes at a time: put a bad byte at every offset of a long run,
// and a multi-byte character straddling every word boundary.
TEST(Utf8, FindsBadBytesAtEveryOffsetOfAsciiRuns) {
  for (std::size_t at = 0; at < 40; ++at) {
    std::string text(40, 'x');
    text[at] = static_cast<char>(0x80);
    EXPECT_FALSE(valid_utf8(text)) << at;
    text[at] = static_cast<char>(0xC3);
    EXPECT_FALSE(valid_utf8(text)) << at;
  }
  for (std::size_t at = 0; at + 4 <= 40; ++at) {
    std::string text(40, 'x');
    text.replace(at, 4, bytes({0xF0, 0x9F, 0x98, 0x80}));
    EXPECT_TRUE(valid_utf8(text)) << at;
    text[at + 3] = 'x';
    EXPECT_FALSE(valid_utf8(text)) << at;
  }
}

TEST(Utf8, MatchesReferenceOnAllTwoAndThreeByteStrings) {
  std::string text(3, '\0');
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      text.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(valid_utf8(text), reference_valid(text)) << a << ' ' << b;
      text.push_back('\0');
      for (unsigned c = 0; c < 256; ++c) {
        text[2] = static_cast<char>(c);
        ASSERT_EQ(valid_utf8(text), reference_valid(text)) << a << ' ' << b << ' ' << c;
      }
    }
  }
}

TEST(Utf8, MatchesReferenceOnFourByteSequences) {
  static constexpr unsigned kTails[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90,
                                        0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF};
  for (unsigned lead = 0xF0; lead <= 0xFF; ++lead) {
    for (unsigned b = 0; b < 256; ++b) {
      for (unsigned c : kTails) {
        for (unsigned d : kTails) {
          const std::string text = bytes({lead, b, c, d});
          ASSERT_EQ(valid_utf8(text), reference_valid(text)) << lead << ' ' << b << ' ' << c;
        }
      }
    }
  }
}

}  // namespace
}  // namespace greendot::protocol::websocket
