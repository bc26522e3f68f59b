#include "core/ended_tabs.hpp"

#include <gtest/gtest.h>

#include <string>

namespace greendot::core {
namespace {

TEST(EndedTabs, ATabEndedInOneChannelOrInAll) {
  EndedTabs tabs;
  tabs.remember(0, "7", "tab-a", "presence-x", 1000);
  tabs.remember(0, "7", "tab-b", "", 1000);
  EXPECT_TRUE(tabs.ended(0, "7", "tab-a", "presence-x", 0));
  EXPECT_FALSE(tabs.ended(0, "7", "tab-a", "presence-y", 0)) << "only where it said offline";
  EXPECT_TRUE(tabs.ended(0, "7", "tab-b", "presence-y", 0)) << "an offline for every channel";
  EXPECT_FALSE(tabs.ended(0, "8", "tab-a", "presence-x", 0)) << "another user's tab";
  EXPECT_FALSE(tabs.ended(1, "7", "tab-a", "presence-x", 0)) << "another app's user";
}

TEST(EndedTabs, ForgottenAfterTheirTime) {
  EndedTabs tabs;
  tabs.remember(0, "7", "tab-a", "", 1000);
  tabs.advance(999);
  EXPECT_EQ(tabs.users(), 1u);
  EXPECT_FALSE(tabs.ended(0, "7", "tab-a", "presence-x", 1000)) << "due at 1000";
  tabs.advance(1000);
  EXPECT_EQ(tabs.users(), 0u);
}

TEST(EndedTabs, ARepeatedOfflineExtendsTheMemory) {
  EndedTabs tabs;
  tabs.remember(0, "7", "tab-a", "", 1000);
  tabs.remember(0, "7", "tab-a", "", 3000);
  tabs.advance(1000);
  EXPECT_TRUE(tabs.ended(0, "7", "tab-a", "p", 2000));
  tabs.advance(3000);
  EXPECT_EQ(tabs.users(), 0u);
}

TEST(EndedTabs, AUserKeepsABoundedNumber) {
  EndedTabs tabs;
  for (std::size_t i = 0; i <= EndedTabs::kMaxPerUser; ++i) {
    tabs.remember(0, "7", std::string("tab-").append(std::to_string(i)), "", 1000);
  }
  EXPECT_FALSE(tabs.ended(0, "7", "tab-0", "p", 0)) << "the oldest made room";
  EXPECT_TRUE(tabs.ended(0, "7", "tab-1", "p", 0));
  EXPECT_TRUE(tabs.ended(0, "7", std::string("tab-").append(std::to_string(EndedTabs::kMaxPerUser)),
                         "p", 0));
}

}  // namespace
}  // namespace greendot::core
