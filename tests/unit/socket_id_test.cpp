#include "protocol/socket_id.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace greendot::protocol {
namespace {

TEST(SocketId, RandomIdsHavePusherFormatAndDiffer) {
  const std::regex format(R"(^\d+\.\d+$)");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = SocketId::random().to_string();
    EXPECT_TRUE(std::regex_match(id, format)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(SocketId, ParseRoundTrip) {
  auto id = SocketId::random();
  auto parsed = SocketId::parse(id.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, id);
}

TEST(SocketId, ParseRejectsBadText) {
  for (const char* bad : {"", ".", "1.", ".1", "1", "a.b", "1.2.3", "-1.2", "+1.2", "1.2x",
                          "99999999999.1", "1 .2"}) {
    EXPECT_FALSE(SocketId::parse(bad)) << bad;
  }
  EXPECT_TRUE(SocketId::parse("4294967295.0"));
  EXPECT_FALSE(SocketId::parse("4294967296.0"));
}

}  // namespace
}  // namespace greendot::protocol
