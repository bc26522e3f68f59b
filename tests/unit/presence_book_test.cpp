#include "core/presence_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace greendot::core {
namespace {

using Kind = PresenceEvent::Kind;
constexpr std::size_t kNoLimit = 1000;

TEST(PresenceBook, FirstSessionAddsMember) {
  PresenceBook book;
  auto result = book.join(0, "presence-a", "7", R"({"name":"Ann"})", 1, kNoLimit);
  EXPECT_EQ(result.status, PresenceBook::JoinStatus::Joined);
  EXPECT_TRUE(result.member_added);
  EXPECT_EQ(book.member_count(0, "presence-a"), 1u);
  EXPECT_TRUE(book.is_member(0, "presence-a", "7"));
}

TEST(PresenceBook, SeveralTabsAreOneMember) {
  PresenceBook book;
  EXPECT_TRUE(book.join(0, "presence-a", "7", "{}", 1, kNoLimit).member_added);
  EXPECT_FALSE(book.join(0, "presence-a", "7", "{}", 2, kNoLimit).member_added);
  EXPECT_FALSE(book.join(0, "presence-a", "7", "{}", 3, kNoLimit).member_added);
  EXPECT_EQ(book.member_count(0, "presence-a"), 1u);
  // Closing two of three tabs changes nothing; the last one removes the member (grace 0).
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 1, 0, 0));
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 3, 0, 0));
  auto removed = book.leave(0, "presence-a", "7", 2, 0, 0);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->kind, Kind::MemberRemoved);
  EXPECT_EQ(removed->user_id, "7");
  EXPECT_EQ(removed->channel, "presence-a");
  EXPECT_EQ(book.member_count(0, "presence-a"), 0u);
  EXPECT_EQ(book.channel_count(), 0u);
}

TEST(PresenceBook, GraceDelaysRemoval) {
  PresenceBook book;
  book.join(0, "presence-a", "7", "{}", 1, kNoLimit);
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 1, /*now=*/1000, /*grace=*/3000));
  EXPECT_TRUE(book.is_member(0, "presence-a", "7"));  // still present during the grace
  ASSERT_TRUE(book.next_deadline());
  EXPECT_EQ(*book.next_deadline(), 4000);

  std::vector<PresenceEvent> removed;
  book.advance(3999, removed);
  EXPECT_TRUE(removed.empty());
  book.advance(4000, removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].user_id, "7");
  EXPECT_FALSE(book.is_member(0, "presence-a", "7"));
}

TEST(PresenceBook, ReturnInsideGraceCausesNoEvent) {
  PresenceBook book;
  book.join(0, "presence-a", "7", "{}", 1, kNoLimit);
  book.leave(0, "presence-a", "7", 1, 1000, 3000);
  auto rejoin = book.join(0, "presence-a", "7", "{}", 2, kNoLimit);
  EXPECT_FALSE(rejoin.member_added);
  std::vector<PresenceEvent> removed;
  book.advance(10000, removed);
  EXPECT_TRUE(removed.empty());
  EXPECT_TRUE(book.is_member(0, "presence-a", "7"));
}

TEST(PresenceBook, StaleDeadlineAfterReturnAndSecondLeaveIsIgnored) {
  PresenceBook book;
  book.join(0, "presence-a", "7", "{}", 1, kNoLimit);
  book.leave(0, "presence-a", "7", 1, 1000, 3000);  // deadline 4000
  book.join(0, "presence-a", "7", "{}", 2, kNoLimit);
  book.leave(0, "presence-a", "7", 2, 3500, 3000);  // deadline 6500
  std::vector<PresenceEvent> removed;
  book.advance(4000, removed);
  EXPECT_TRUE(removed.empty()) << "the first grace was cancelled by the return";
  book.advance(6500, removed);
  EXPECT_EQ(removed.size(), 1u);
}

TEST(PresenceBook, AGraceEntryOfAnEarlierMembershipDoesNotEndALaterOne) {
  // A grace begun, cut short by a return, then the member removed at once (grace 0) and made
  // again: its new grace must not be ended by the first one's queued deadline.
  PresenceBook book;
  book.join(0, "presence-a", "7", "{}", 1, kNoLimit);
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 1, 0, 1000));  // deadline at 1000
  book.join(0, "presence-a", "7", "{}", 2, kNoLimit);          // back: no event
  EXPECT_TRUE(book.leave(0, "presence-a", "7", 2, 200, 0));    // removed at once
  EXPECT_TRUE(book.join(0, "presence-a", "7", "{}", 3, kNoLimit).member_added);
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 3, 400, 1000));  // deadline at 1400
  std::vector<PresenceEvent> removed;
  book.advance(1000, removed);
  EXPECT_TRUE(removed.empty()) << "ended by the first grace's deadline";
  EXPECT_TRUE(book.is_member(0, "presence-a", "7"));
  book.advance(1400, removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].left_at, 400);
}

TEST(PresenceBook, ChannelFullRefusesNewUsersButNotNewTabs) {
  PresenceBook book;
  book.join(0, "presence-a", "1", "{}", 1, 2);
  book.join(0, "presence-a", "2", "{}", 2, 2);
  EXPECT_EQ(book.join(0, "presence-a", "3", "{}", 3, 2).status,
            PresenceBook::JoinStatus::ChannelFull);
  EXPECT_EQ(book.join(0, "presence-a", "1", "{}", 4, 2).status, PresenceBook::JoinStatus::Joined);
  EXPECT_EQ(book.member_count(0, "presence-a"), 2u);
}

TEST(PresenceBook, FullRefusalLeavesNoEmptyChannelBehind) {
  PresenceBook book;
  EXPECT_EQ(book.join(0, "presence-a", "1", "{}", 1, 0).status,
            PresenceBook::JoinStatus::ChannelFull);
  EXPECT_EQ(book.channel_count(), 0u);
}

TEST(PresenceBook, AppsAndChannelsAreSeparate) {
  PresenceBook book;
  book.join(0, "presence-a", "7", "{}", 1, kNoLimit);
  EXPECT_TRUE(book.join(1, "presence-a", "7", "{}", 2, kNoLimit).member_added);
  EXPECT_TRUE(book.join(0, "presence-b", "7", "{}", 3, kNoLimit).member_added);
  EXPECT_EQ(book.channel_count(), 3u);
}

TEST(PresenceBook, FirstUserInfoIsKept) {
  PresenceBook book;
  book.join(0, "presence-a", "7", R"({"v":1})", 1, kNoLimit);
  book.join(0, "presence-a", "7", R"({"v":2})", 2, kNoLimit);
  std::string seen;
  book.for_each_member(0, "presence-a",
                       [&](const std::string&, const std::string& info) { seen = info; });
  EXPECT_EQ(seen, R"({"v":1})");
}

TEST(PresenceBook, LeavingUnknownSessionsChangesNothing) {
  PresenceBook book;
  book.join(0, "presence-a", "7", "{}", 1, kNoLimit);
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 99, 0, 0));
  EXPECT_FALSE(book.leave(0, "presence-a", "8", 1, 0, 0));
  EXPECT_FALSE(book.leave(0, "presence-b", "7", 1, 0, 0));
  EXPECT_TRUE(book.is_member(0, "presence-a", "7"));
  // The same session leaving twice is removed once.
  EXPECT_TRUE(book.leave(0, "presence-a", "7", 1, 0, 0));
  EXPECT_FALSE(book.leave(0, "presence-a", "7", 1, 0, 0));
}

TEST(PresenceBook, DeadlinesFireInTimeOrder) {
  PresenceBook book;
  for (SessionId s = 1; s <= 3; ++s) {
    book.join(0, "presence-a", std::to_string(s), "{}", s, kNoLimit);
  }
  book.leave(0, "presence-a", "3", 3, 300, 1000);
  book.leave(0, "presence-a", "1", 1, 100, 1000);
  book.leave(0, "presence-a", "2", 2, 200, 1000);
  std::vector<PresenceEvent> removed;
  book.advance(5000, removed);
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_EQ(removed[0].user_id, "1");
  EXPECT_EQ(removed[1].user_id, "2");
  EXPECT_EQ(removed[2].user_id, "3");
}

std::vector<std::string> listed(const PresenceBook& book) {
  std::vector<std::string> ids;
  book.for_each_listed_member(
      0, "presence-r", [&](const std::string& id, const std::string&) { ids.push_back(id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(PresenceBookGrace, MembersInGraceAreKeptButNotListedAndTheirReturnIsFlagged) {
  PresenceBook book;
  EXPECT_EQ(book.join(0, "presence-r", "a", "{}", 1, 100).join_number, 1u);
  EXPECT_EQ(book.join(0, "presence-r", "b", "{}", 2, 100).join_number, 2u);
  const auto before = book.list_changes(0, "presence-r");
  book.leave(0, "presence-r", "a", 1, 10, 1000);
  EXPECT_TRUE(book.is_member(0, "presence-r", "a")) << "still a member for those who saw them";
  EXPECT_EQ(listed(book), std::vector<std::string>{"b"}) << "not shown to new joiners";
  EXPECT_EQ(book.list_changes(0, "presence-r"), before + 1) << "a list built before is stale";
  EXPECT_EQ(book.join(0, "presence-r", "c", "{}", 3, 100).join_number, 3u);
  auto back = book.join(0, "presence-r", "a", "{}", 4, 100);
  EXPECT_FALSE(back.member_added);
  EXPECT_TRUE(back.returned);
  EXPECT_EQ(back.unseen_after, 2u) << "joins 1 and 2 were given a; 3 was not";
  EXPECT_EQ(listed(book), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(book.list_changes(0, "presence-r"), before + 2) << "a return changes the list too";
  auto again = book.join(0, "presence-r", "a", "{}", 5, 100);
  EXPECT_FALSE(again.returned) << "a second tab of a present member is no return";
}

TEST(PresenceBookGrace, OnlyMembersWithASessionCountAgainstTheLimit) {
  PresenceBook book;
  book.join(0, "presence-r", "a", "{}", 1, 2);
  book.join(0, "presence-r", "b", "{}", 2, 2);
  EXPECT_EQ(book.join(0, "presence-r", "c", "{}", 3, 2).status,
            PresenceBook::JoinStatus::ChannelFull);
  book.leave(0, "presence-r", "a", 1, 0, 1000);  // a is in grace
  EXPECT_EQ(book.join(0, "presence-r", "c", "{}", 3, 2).status, PresenceBook::JoinStatus::Joined)
      << "departed members do not keep the living out";
  EXPECT_EQ(book.join(0, "presence-r", "a", "{}", 4, 2).status, PresenceBook::JoinStatus::Joined)
      << "and one coming back within the grace is never refused";
  EXPECT_EQ(book.member_count(0, "presence-r"), 3u);
  book.leave(0, "presence-r", "c", 3, 0, 0);
  EXPECT_EQ(book.join(0, "presence-r", "d", "{}", 5, 2).status,
            PresenceBook::JoinStatus::ChannelFull);
}

TEST(PresenceBookGrace, ARemovalAfterTheGraceKeepsTheCountsRight) {
  PresenceBook book;
  book.join(0, "presence-r", "a", "{}", 1, 1);
  book.leave(0, "presence-r", "a", 1, 0, 100);
  std::vector<PresenceEvent> removed;
  book.advance(100, removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(book.join(0, "presence-r", "b", "{}", 2, 1).status, PresenceBook::JoinStatus::Joined);
  EXPECT_EQ(book.join(0, "presence-r", "c", "{}", 3, 1).status,
            PresenceBook::JoinStatus::ChannelFull);
}

}  // namespace
}  // namespace greendot::core

namespace greendot::core {
namespace {

TEST(PresenceBookHeartbeat, PingsKeepTheMemberUntilTheTtlPasses) {
  PresenceBook book;
  EXPECT_TRUE(book.heartbeat(0, "presence-g", "7", "{}", "", 0, 90000, 0, 1000).member_added);
  EXPECT_FALSE(book.heartbeat(0, "presence-g", "7", "{}", "", 30000, 90000, 0, 1000).member_added);
  EXPECT_FALSE(book.heartbeat(0, "presence-g", "7", "{}", "", 60000, 90000, 0, 1000).member_added);
  std::vector<PresenceEvent> removed;
  book.advance(149999, removed);
  EXPECT_TRUE(removed.empty()) << "the last ping at 60 s keeps the member until 150 s";
  book.advance(150000, removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].user_id, "7");
  EXPECT_EQ(book.channels_of(0, "7"), nullptr);
}

TEST(PresenceBookHeartbeat, ExpiryHonoursTheGrace) {
  PresenceBook book;
  book.heartbeat(0, "presence-g", "7", "{}", "", 0, 1000, 500, 1000);
  std::vector<PresenceEvent> removed;
  book.advance(1000, removed);
  EXPECT_TRUE(removed.empty());
  EXPECT_TRUE(book.is_member(0, "presence-g", "7"));
  book.advance(1500, removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].left_at, 1000);
}

TEST(PresenceBookHeartbeat, HeartbeatAndConnectionAreOneMember) {
  PresenceBook book;
  book.heartbeat(0, "presence-g", "7", "{}", "", 0, 1000, 0, 1000);
  EXPECT_FALSE(book.join(0, "presence-g", "7", "{}", 5, 1000).member_added);
  std::vector<PresenceEvent> removed;
  book.advance(5000, removed);
  EXPECT_TRUE(removed.empty()) << "the connection still holds the member";
  EXPECT_TRUE(book.leave(0, "presence-g", "7", 5, 6000, 0));
}

TEST(PresenceBookHeartbeat, EndHeartbeatRemovesAtOnceAndStaleExpiryIsIgnored) {
  PresenceBook book;
  book.heartbeat(0, "presence-g", "7", "{}", "", 0, 1000, 0, 1000);
  auto removed_now = book.end_heartbeat(0, "presence-g", "7", nullptr, 10, 0);
  ASSERT_TRUE(removed_now);
  EXPECT_EQ(removed_now->left_at, 10);
  // Back with a new heartbeat: the first expiry (at 1000) must not end the new session.
  book.heartbeat(0, "presence-g", "7", "{}", "", 500, 1000, 0, 1000);
  std::vector<PresenceEvent> removed;
  book.advance(1000, removed);
  EXPECT_TRUE(removed.empty());
  book.advance(1500, removed);
  EXPECT_EQ(removed.size(), 1u);
}

TEST(PresenceBookHeartbeat, ATabBegunAgainAfterItsExpiryEntrySurfacedEndsOnItsOwnTtl) {
  // A member kept by a connection ends its tab; the tab's queued expiry surfaces with nothing
  // left to expire (the member's heartbeat state is given back); a new tab must still expire,
  // once, with its own grace.
  PresenceBook book;
  book.join(0, "presence-g", "7", "{}", 5, kNoLimit);
  book.heartbeat(0, "presence-g", "7", "{}", "a", 0, 1000, 0, kNoLimit);
  EXPECT_FALSE(book.end_heartbeat(0, "presence-g", "7", nullptr, 10, 0));
  std::vector<PresenceEvent> removed;
  std::vector<PresenceBook::UserRef> expired;
  book.advance(1000, removed, &expired);
  EXPECT_TRUE(removed.empty());
  EXPECT_TRUE(expired.empty()) << "the tab had ended, not expired";
  book.heartbeat(0, "presence-g", "7", "{}", "b", 2000, 1000, 300, kNoLimit);
  EXPECT_FALSE(book.leave(0, "presence-g", "7", 5, 2100, 0)) << "the new tab holds the member";
  book.advance(2999, removed, &expired);
  EXPECT_TRUE(removed.empty());
  book.advance(3000, removed, &expired);
  EXPECT_TRUE(removed.empty()) << "in the grace of the tab's last ping";
  EXPECT_EQ(expired.size(), 1u);
  book.advance(3300, removed, &expired);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].left_at, 3000);
  book.advance(10000, removed, &expired);
  EXPECT_EQ(removed.size(), 1u);
  EXPECT_FALSE(book.is_member(0, "presence-g", "7"));
}

TEST(PresenceBookHeartbeat, EachTabIsASessionAndTheMemberLeavesAfterTheLast) {
  PresenceBook book;
  EXPECT_TRUE(book.heartbeat(0, "presence-g", "7", "{}", "tab-a", 0, 1000, 0, 1000).member_added);
  EXPECT_FALSE(book.heartbeat(0, "presence-g", "7", "{}", "tab-b", 10, 1000, 0, 1000).member_added);
  const std::string a = "tab-a";
  EXPECT_FALSE(book.end_heartbeat(0, "presence-g", "7", &a, 20, 0))
      << "tab-b is still open: one tab's offline must not remove the user";
  EXPECT_TRUE(book.is_member(0, "presence-g", "7"));
  std::vector<std::string> tabs;
  book.for_each_session(
      0, "presence-g", "7", [](SessionId) {}, [&](const std::string& tab) { tabs.push_back(tab); });
  EXPECT_EQ(tabs, std::vector<std::string>{"tab-b"});
  const std::string b = "tab-b";
  auto removed = book.end_heartbeat(0, "presence-g", "7", &b, 30, 0);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->left_at, 30);
}

TEST(PresenceBookHeartbeat, TabsExpireOnTheirOwnTtl) {
  PresenceBook book;
  book.heartbeat(0, "presence-g", "7", "{}", "tab-a", 0, 1000, 0, 1000);
  book.heartbeat(0, "presence-g", "7", "{}", "tab-b", 600, 1000, 0, 1000);
  std::vector<PresenceEvent> removed;
  std::vector<PresenceBook::UserRef> expired;
  book.advance(1000, removed, &expired);
  EXPECT_TRUE(removed.empty()) << "tab-b pinged at 600 and lasts until 1600";
  ASSERT_EQ(expired.size(), 1u) << "tab-a's session ended";
  std::vector<std::string> tabs;
  book.for_each_session(
      0, "presence-g", "7", [](SessionId) {}, [&](const std::string& tab) { tabs.push_back(tab); });
  EXPECT_EQ(tabs, std::vector<std::string>{"tab-b"});
  book.advance(1600, removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].left_at, 1600);
}

TEST(PresenceBookHeartbeat, AnOfflineForEveryTabEndsThemAll) {
  PresenceBook book;
  book.heartbeat(0, "presence-g", "7", "{}", "tab-a", 0, 1000, 0, 1000);
  book.heartbeat(0, "presence-g", "7", "{}", "tab-b", 0, 1000, 0, 1000);
  EXPECT_TRUE(book.end_heartbeat(0, "presence-g", "7", nullptr, 5, 0));
  EXPECT_FALSE(book.is_member(0, "presence-g", "7"));
}

TEST(PresenceBookHeartbeat, AHeartbeatBackInsideTheGraceIsAReturn) {
  PresenceBook book;
  book.heartbeat(0, "presence-g", "7", "{}", "t", 0, 1000, 500, 1000);
  book.join(0, "presence-g", "8", "{}", 1, 1000);  // join number 1
  std::vector<PresenceEvent> removed;
  book.advance(1000, removed);  // the tab expired: 7 is in grace
  auto back = book.heartbeat(0, "presence-g", "7", "{}", "t", 1100, 1000, 500, 1000);
  EXPECT_FALSE(back.member_added);
  EXPECT_TRUE(back.returned);
  EXPECT_EQ(back.unseen_after, 1u);
}

TEST(PresenceBookHeartbeat, ChannelsOfAUser) {
  PresenceBook book;
  book.heartbeat(0, "presence-a", "7", "{}", "", 0, 1000, 0, 1000);
  book.join(0, "presence-b", "7", "{}", 1, 1000);
  ASSERT_NE(book.channels_of(0, "7"), nullptr);
  EXPECT_EQ(book.channels_of(0, "7")->size(), 2u);
  book.leave(0, "presence-b", "7", 1, 0, 0);
  EXPECT_EQ(book.channels_of(0, "7")->size(), 1u);
  EXPECT_EQ(book.channels_of(1, "7"), nullptr);
}

}  // namespace
}  // namespace greendot::core
