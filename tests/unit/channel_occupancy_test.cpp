#include "core/channel_occupancy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace greendot::core {
namespace {

using Vacated = std::vector<std::pair<AppIndex, std::string>>;

TEST(ChannelOccupancy, FirstSubscriptionOccupiesLastVacates) {
  ChannelOccupancy o;
  EXPECT_TRUE(o.add(0, "a"));
  EXPECT_FALSE(o.add(0, "a"));
  EXPECT_EQ(o.subscriptions(0, "a"), 2u);
  EXPECT_FALSE(o.remove(0, "a", 0, 0));
  EXPECT_TRUE(o.remove(0, "a", 0, 0));
  EXPECT_FALSE(o.occupied(0, "a"));
  EXPECT_FALSE(o.remove(0, "a", 0, 0)) << "removing from an empty channel is harmless";
}

TEST(ChannelOccupancy, GraceDelaysVacate) {
  ChannelOccupancy o;
  o.add(0, "a");
  EXPECT_FALSE(o.remove(0, "a", 1000, 500));
  EXPECT_TRUE(o.occupied(0, "a"));
  EXPECT_EQ(o.subscriptions(0, "a"), 0u);
  Vacated vacated;
  o.advance(1499, vacated);
  EXPECT_TRUE(vacated.empty());
  o.advance(1500, vacated);
  ASSERT_EQ(vacated.size(), 1u);
  EXPECT_EQ(vacated[0].second, "a");
  EXPECT_FALSE(o.occupied(0, "a"));
}

TEST(ChannelOccupancy, ReturnInsideGraceAnnouncesNothing) {
  ChannelOccupancy o;
  o.add(0, "a");
  o.remove(0, "a", 1000, 500);
  EXPECT_FALSE(o.add(0, "a")) << "still occupied: no second channel_occupied";
  Vacated vacated;
  o.advance(5000, vacated);
  EXPECT_TRUE(vacated.empty());
  EXPECT_TRUE(o.occupied(0, "a"));
}

TEST(ChannelOccupancy, ListsOccupiedChannelsByPrefix) {
  ChannelOccupancy o;
  o.add(0, "presence-a");
  o.add(0, "presence-a");
  o.add(0, "public");
  o.add(1, "presence-b");
  std::map<std::string, std::uint32_t> seen;
  o.for_each_occupied(0, "presence-",
                      [&](const std::string& name, std::uint32_t n) { seen[name] = n; });
  EXPECT_EQ(seen, (std::map<std::string, std::uint32_t>{{"presence-a", 2}}));
}

}  // namespace
}  // namespace greendot::core
