// The user scripts against a real redis-server: a user's record learns of channel changes in
// a second step that two nodes may send in either order, so an older change (by its channel's
// epoch and version) must be ignored, and coming online and going offline are each reported
// once, with last seen recorded when the last membership ends.
#include <gtest/gtest.h>

#include "engine/redis/user_scripts.hpp"
#include "redis_test_server.hpp"

namespace greendot::engine::redis_engine {
namespace {

using redis::Reply;
using redis::Result;

class UserScripts : public redis::testing::RedisServer {
 protected:
  void SetUp() override {
    RedisServer::SetUp();
    connection_ = connected();
  }
  Reply run(const Script& script, std::vector<std::string> keys, std::vector<std::string> args) {
    std::vector<std::string> argv{"EVAL", script.text, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string_view> views(argv.begin(), argv.end());
    std::optional<Result> result;
    connection_->command(views, [&](Result r) { result = std::move(r); });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    const Reply* reply = std::get_if<Reply>(&*result);
    EXPECT_TRUE(reply && !reply->is_error()) << (reply ? reply->text : "no reply");
    return reply ? *reply : Reply{};
  }
  // A membership change of user "u" in channel `tag`; the transition it reports.
  std::int64_t change(const std::string& tag, const std::string& epoch, int version, bool present,
                      const std::string& left = "0") {
    return run(user_membership_script(), {"t:u:record", "t:u:in"},
               {tag, epoch, std::to_string(version), present ? "1" : "0", left, "PUBLISH",
                "t:u:events"})
        .elements.at(0)
        .integer;
  }
  std::string field(const std::string& key, const std::string& name) {
    const std::string_view args[] = {"HGET", key, name};
    std::optional<Result> result;
    connection_->command(args, [&](Result r) { result = std::move(r); });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    const Reply* reply = std::get_if<Reply>(&*result);
    return reply && reply->is_string() ? reply->text : std::string("(nil)");
  }
  std::shared_ptr<redis::RedisConnection> connection_;
};

TEST_F(UserScripts, OnlineAtTheFirstMembershipAndOfflineAtTheLastOnce) {
  EXPECT_EQ(change("app:a", "100.x", 1, true), 1);
  EXPECT_EQ(change("app:b", "100.y", 4, true), 0);
  EXPECT_EQ(change("app:a", "100.x", 2, false, "1234"), 0);
  EXPECT_EQ(field("t:u:record", "ls"), "(nil)");
  EXPECT_EQ(change("app:b", "100.y", 5, false, "5678"), -1);
  EXPECT_EQ(field("t:u:record", "ls"), "5678");
}

TEST_F(UserScripts, AnOlderChangeArrivingLateIsIgnored) {
  // Node B's join (version 3) is recorded before node A's earlier leave (version 2): the leave
  // must not take the user offline.
  EXPECT_EQ(change("app:a", "100.x", 1, true), 1);
  EXPECT_EQ(change("app:a", "100.x", 3, true), 0);
  EXPECT_EQ(change("app:a", "100.x", 2, false, "99"), 0);
  EXPECT_EQ(field("t:u:record", "ls"), "(nil)");
  // And the other way round: a leave (4) recorded before a late earlier join (3 again) keeps
  // the user offline.
  EXPECT_EQ(change("app:a", "100.x", 4, false, "42"), -1);
  EXPECT_EQ(change("app:a", "100.x", 3, true), 0);
  EXPECT_EQ(field("t:u:in", "app:a").substr(0, 10), "100.x 4 - ");  // still a tombstone
}

TEST_F(UserScripts, ALaterEpochWinsAndAnEarlierOneIsIgnored) {
  EXPECT_EQ(change("app:a", "200.x", 7, true), 1);
  // An epoch that began earlier (the channel's life before it emptied) is older, whatever its
  // version.
  EXPECT_EQ(change("app:a", "150.y", 90, false, "1"), 0);
  // One that began later is newer, even with a smaller version.
  EXPECT_EQ(change("app:a", "300.z", 1, false, "2"), -1);
}

TEST_F(UserScripts, PrivacyFieldsKeepOnlyWhatIsNotTheDefault) {
  auto set =
      run(user_privacy_script(), {"t:u:record", "t:u:in"}, {"", "hidden", "PUBLISH", "t:u:events"});
  ASSERT_EQ(set.elements.size(), 3u);
  EXPECT_EQ(set.elements[0].text, "everyone");
  EXPECT_EQ(set.elements[1].text, "hidden");
  set =
      run(user_privacy_script(), {"t:u:record", "t:u:in"}, {"", "exact", "PUBLISH", "t:u:events"});
  EXPECT_EQ(set.elements[1].text, "exact");
  EXPECT_EQ(field("t:u:record", "lsp"), "(nil)");
}

// Going invisible while online is leaving, as far as anyone else can tell: last seen is now,
// and the channels the user is in are named, to hide them there. A user offline has none.
TEST_F(UserScripts, GoingInvisibleWhileOnlineRecordsLastSeenAndNamesTheChannels) {
  auto privacy = [&](const std::string& visibility) {
    return run(user_privacy_script(), {"t:u:record", "t:u:in"},
               {visibility, "", "PUBLISH", "t:u:events"});
  };
  EXPECT_EQ(change("app:a", "100.x", 1, true), 1);
  EXPECT_EQ(change("app:b", "100.y", 1, true), 0);
  EXPECT_EQ(change("app:b", "100.y", 2, false, "7"), 0);
  auto hidden = privacy("nobody");
  ASSERT_EQ(hidden.elements.size(), 4u);
  EXPECT_EQ(hidden.elements[0].text, "nobody");
  EXPECT_EQ(hidden.elements[2].integer, 1);
  EXPECT_EQ(hidden.elements[3].text, "app:a") << "only the channels the user is in";
  EXPECT_NE(field("t:u:record", "ls"), "(nil)");
  EXPECT_EQ(privacy("nobody").elements[2].integer, 0) << "no change, nothing to do";
  // While invisible, their memberships answer so, and the last leave records nothing.
  const std::string seen = field("t:u:record", "ls");
  EXPECT_EQ(change("app:a", "100.x", 2, false, "99"), -1);
  EXPECT_EQ(field("t:u:record", "ls"), seen);
  auto shown = privacy("everyone");
  EXPECT_EQ(shown.elements.size(), 3u) << "offline: no channel to show them in";
  EXPECT_EQ(shown.elements[2].integer, 1);
}

TEST_F(UserScripts, StatusIsAwayWhenEveryPartIsAndToldOnlyWhenItChanges) {
  auto status = [&](const std::string& field, int live, const std::string& away) {
    return run(user_status_script(), {"t:u:record", "t:u:in"}, {field, std::to_string(live), away})
        .elements.front()
        .text;
  };
  change("app:a", "100.x", 1, true);
  EXPECT_EQ(status("s:n:A", 2, "1"), "");  // one of two sessions away
  EXPECT_EQ(status("s:n:B", 1, "1"), "");  // two of three
  EXPECT_EQ(status("s:n:A", 2, "2"), "away");
  EXPECT_EQ(status("s:t:tab", 1, "-"), "online");  // a tab without a status counts online
  EXPECT_EQ(status("s:t:tab", 1, "1"), "away");
  // All parts gone (inside the grace): the status stays what the others were told.
  status("s:n:A", 0, "0");
  status("s:n:B", 0, "0");
  EXPECT_EQ(status("s:t:*", 0, "0"), "");
  EXPECT_EQ(field("t:u:record", "st"), "away");
  // Back with an online session: told.
  EXPECT_EQ(status("s:n:C", 1, "0"), "online");
}

}  // namespace
}  // namespace greendot::engine::redis_engine
