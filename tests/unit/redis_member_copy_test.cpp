// A node's copy of a channel's member list: events in order change it, duplicates and older
// events do not, a skipped version or another epoch asks for the list to be read again, and a
// list read again tells what the local subscribers missed.
#include "engine/redis/member_copy.hpp"

#include <gtest/gtest.h>

namespace greendot::engine::redis_engine {
namespace {

ChannelEvent added(std::string epoch, std::uint64_t version, std::string user,
                   std::string info = "{}") {
  ChannelEvent event;
  event.kind = ChannelEvent::Kind::MemberAdded;
  event.epoch = std::move(epoch);
  event.version = version;
  event.user = std::move(user);
  event.body = std::move(info);
  return event;
}

ChannelEvent removed(std::string epoch, std::uint64_t version, std::string user) {
  ChannelEvent event = added(std::move(epoch), version, std::move(user));
  event.kind = ChannelEvent::Kind::MemberRemoved;
  event.body.clear();
  return event;
}

TEST(MemberCopy, AppliesEventsInVersionOrderAndDropsOlderOnes) {
  MemberCopy copy;
  EXPECT_EQ(copy.apply(added("e1", 1, "a")), MemberCopy::Applied::Gap) << "not loaded yet";
  copy.load("e1", 2, {{"a", R"({"n":1})"}, {"b", "{}"}});
  EXPECT_EQ(copy.apply(added("e1", 2, "b")), MemberCopy::Applied::Unchanged) << "in the list";
  EXPECT_EQ(copy.apply(added("e1", 3, "c")), MemberCopy::Applied::Changed);
  EXPECT_EQ(copy.apply(added("e1", 3, "c")), MemberCopy::Applied::Unchanged) << "a duplicate";
  EXPECT_EQ(copy.apply(removed("e1", 4, "a")), MemberCopy::Applied::Changed);
  EXPECT_EQ(copy.size(), 2u);
  EXPECT_TRUE(copy.includes("e1", 4));
  EXPECT_FALSE(copy.includes("e1", 5));
  EXPECT_FALSE(copy.includes("e2", 1));
}

// The copy is the list others see: a member who goes invisible leaves it, one shown again
// comes back with their user_info, and a hidden join (an invisible user) only moves the version.
TEST(MemberCopy, HiddenMembersAreNotInTheCopy) {
  MemberCopy copy;
  copy.load("e1", 1, {{"a", R"({"n":1})"}});
  ChannelEvent hide = removed("e1", 2, "a");
  hide.kind = ChannelEvent::Kind::MemberHidden;
  EXPECT_EQ(copy.apply(hide), MemberCopy::Applied::Changed);
  EXPECT_EQ(copy.size(), 0u);
  ChannelEvent hidden_join = removed("e1", 3, "b");
  hidden_join.kind = ChannelEvent::Kind::MemberHidden;
  EXPECT_EQ(copy.apply(hidden_join), MemberCopy::Applied::Unchanged);
  EXPECT_TRUE(copy.includes("e1", 3));
  ChannelEvent show = added("e1", 4, "a", R"({"n":1})");
  show.kind = ChannelEvent::Kind::MemberShown;
  EXPECT_EQ(copy.apply(show), MemberCopy::Applied::Changed);
  EXPECT_EQ(copy.size(), 1u);
  // What the invisible "b" is told: the others, and themself.
  EXPECT_NE(copy.presence_data_with("b", "{}").find(R"("b")"), std::string::npos);
  EXPECT_EQ(copy.presence_data().find(R"("b")"), std::string::npos);
}

// A member in their grace stays for those who saw them and is left out of joiners' lists; the
// copy remembers how many joiners had seen them, so that a return is told to the later ones.
TEST(MemberCopy, AMemberInTheGraceIsLeftOutOfJoinersLists) {
  MemberCopy copy;
  copy.load("e1", 1, {{"a", "{}"}, {"b", "{}"}}, false, {"b"}, 3);
  EXPECT_EQ(copy.seen_by("b"), 3u) << "read while in the grace";
  EXPECT_EQ(copy.presence_data().find(R"("b")"), std::string::npos);
  ChannelEvent grace = removed("e1", 2, "a");
  grace.kind = ChannelEvent::Kind::MemberInGrace;
  EXPECT_EQ(copy.apply(grace, 5), MemberCopy::Applied::Changed);
  EXPECT_EQ(copy.seen_by("a"), 5u);
  EXPECT_EQ(copy.presence_data().find(R"("a")"), std::string::npos);
  ChannelEvent back = added("e1", 3, "a");
  back.kind = ChannelEvent::Kind::MemberBack;
  EXPECT_EQ(copy.apply(back, 7), MemberCopy::Applied::Changed);
  EXPECT_FALSE(copy.seen_by("a"));
  EXPECT_NE(copy.presence_data().find(R"("a")"), std::string::npos);
  // The grace of b ends with b gone: told to everyone (those who never saw b ignore it).
  EXPECT_EQ(copy.apply(removed("e1", 4, "b")), MemberCopy::Applied::Changed);
  EXPECT_FALSE(copy.seen_by("b"));
}

TEST(MemberCopy, ASkippedVersionOrAnotherEpochMeansReadingTheListAgain) {
  MemberCopy copy;
  copy.load("e1", 5, {{"a", "{}"}});
  EXPECT_EQ(copy.apply(added("e1", 7, "b")), MemberCopy::Applied::Gap);
  EXPECT_EQ(copy.version(), 5u) << "nothing applied past a gap";
  EXPECT_EQ(copy.apply(added("e2", 6, "b")), MemberCopy::Applied::Gap);
}

TEST(MemberCopy, AnEmptyChannelStartingAgainIsFollowedWithoutReading) {
  MemberCopy copy;
  copy.load("e1", 8, {});
  EXPECT_EQ(copy.apply(added("e9", 1, "a")), MemberCopy::Applied::Changed);
  EXPECT_EQ(copy.epoch(), "e9");
  EXPECT_TRUE(copy.includes("e9", 1));
}

TEST(MemberCopy, ReadingAgainTellsWhatChangedMeanwhile) {
  MemberCopy copy;
  auto first = copy.load("e1", 1, {{"a", "{}"}, {"b", "{}"}});
  EXPECT_TRUE(first.added.empty()) << "nobody was told anything from a copy never loaded";
  auto again = copy.load("e1", 9, {{"b", "{}"}, {"c", R"({"x":1})"}});
  ASSERT_EQ(again.added.size(), 1u);
  EXPECT_EQ(again.added[0].first, "c");
  EXPECT_EQ(again.removed, std::vector<std::string>{"a"});
}

TEST(MemberCopy, AfterRedisLostItsDataMissingMembersAreKeptUntold) {
  MemberCopy copy;
  copy.load("e1", 4, {{"a", "{}"}, {"b", "{}"}});
  // The nodes are writing their sessions back: b's node has not yet.
  auto rebuilt = copy.load("e2", 1, {{"a", "{}"}}, /*keep_missing=*/true);
  EXPECT_TRUE(rebuilt.removed.empty());
  EXPECT_EQ(copy.size(), 2u);
  // Read once more later, without keeping: b is really gone.
  auto settled = copy.load("e2", 1, {{"a", "{}"}});
  EXPECT_EQ(settled.removed, std::vector<std::string>{"b"});
}

TEST(MemberCopy, PresenceDataListsEveryMember) {
  MemberCopy copy;
  copy.load("e1", 1, {{"7", R"({"name":"Ann"})"}});
  EXPECT_EQ(copy.presence_data(),
            R"({"presence":{"ids":["7"],"hash":{"7":{"name":"Ann"}},"count":1}})");
  copy.apply(removed("e1", 2, "7"));
  EXPECT_EQ(copy.presence_data(), R"({"presence":{"ids":[],"hash":{},"count":0}})");
}

}  // namespace
}  // namespace greendot::engine::redis_engine
