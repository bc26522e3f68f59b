// ClusterClient against a real 3-primary Redis Cluster made by the test: routing by slot,
// MOVED after a slot migration, ASK during one, sharded pub/sub across the shards and across
// a slot move, a killed, a stopped and a restarted primary.
#include "redis/cluster_client.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "redis_test_cluster.hpp"

namespace greendot::redis {
namespace {

using namespace std::chrono_literals;
using testing::RedisCluster;

struct Message {
  std::string channel;
  std::string payload;
};

// The client under test, with what it told.
struct Harness {
  std::shared_ptr<ClusterClient> client;
  int ups = 0;
  std::vector<std::string> downs;
  std::vector<Message> messages;
  std::vector<std::string> listening;  // on_listening, in order

  Harness(boost::asio::io_context& io, const std::vector<std::string>& urls,
          std::shared_ptr<TlsContext> tls = nullptr, ClientOptions options = fast()) {
    std::vector<RedisEndpoint> seeds;
    for (const auto& url : urls) seeds.push_back(std::get<RedisEndpoint>(parse_redis_url(url)));
    client = ClusterClient::create(io, std::move(seeds), options, std::move(tls));
    client->on_up([this] { ++ups; });
    client->on_down([this](const std::string& why) { downs.push_back(why); });
    client->on_message([this](std::string_view channel, std::string_view payload) {
      messages.push_back({std::string(channel), std::string(payload)});
    });
    client->on_listening([this](const std::string& channel) { listening.push_back(channel); });
    client->start();
  }
  ~Harness() { client->stop(); }

  static ClientOptions fast() {
    ClientOptions options;
    options.command_timeout = 500ms;
    options.first_backoff = 20ms;
    options.max_backoff = 200ms;
    return options;
  }
};

struct ClusterClientTest : RedisCluster {
  std::optional<Result> run_command(ClusterClient& client, std::string_view key,
                                    std::vector<std::string_view> args) {
    std::optional<Result> got;
    client.command(key, args, [&](Result result) { got = std::move(result); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); })) << "a command that never ended";
    return got;
  }
  // The reply, failing the test on a ConnectionError.
  Reply reply_to(ClusterClient& client, std::string_view key, std::vector<std::string_view> args) {
    auto result = run_command(client, key, std::move(args));
    if (!result) return {};
    if (auto* error = std::get_if<ConnectionError>(&*result)) {
      ADD_FAILURE() << "ConnectionError: " << error->message;
      return {};
    }
    return std::get<Reply>(*result);
  }
  // Commands until one gets `expected` (a node that has just come back refuses for a while:
  // CLUSTERDOWN until it has heard from the others); every one must end.
  bool eventually_replies(ClusterClient& client, std::string_view key,
                          std::vector<std::string_view> args, const std::string& expected) {
    return run_until([&] {
      auto result = run_command(client, key, args);
      return result && std::holds_alternative<Reply>(*result) &&
             std::get<Reply>(*result).text == expected;
    });
  }
  // SPUBLISH on node i until a subscriber there hears it (SPUBLISH counts the node's own).
  bool publish_until_heard(int i, const std::string& channel, const std::string& payload) {
    return run_until([&] { return call(i, {"SPUBLISH", channel, payload}).integer == 1; });
  }
  static bool heard(const Harness& h, const std::string& channel, const std::string& payload) {
    for (const auto& m : h.messages) {
      if (m.channel == channel && m.payload == payload) return true;
    }
    return false;
  }
};

TEST_F(ClusterClientTest, ReadsTheMapFromASeedAndRoutesEachKeyToItsPrimary) {
  // The first seed is down: the next one is asked.
  Harness h(io, {"redis://127.0.0.1:" + std::to_string(testing::free_port()), url(1)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; })) << h.client->map_error();
  EXPECT_TRUE(h.client->up());
  EXPECT_TRUE(h.client->cluster());
  for (int i = 0; i < kNodes; ++i) {
    const std::string key = key_on(i, "route");
    const std::string value = std::string("on ").append(std::to_string(i));
    EXPECT_EQ(h.client->primary_of(key_slot(key)), address(i));
    EXPECT_EQ(reply_to(*h.client, key, {"SET", key, value}).text, "OK");
    // Stored on the primary that owns the slot: asked there directly, it has it.
    EXPECT_EQ(call(i, {"GET", key}).text, value);
  }
  EXPECT_EQ(reply_to(*h.client, "", {"PING"}).text, "PONG") << "a keyless command: any primary";
  EXPECT_EQ(h.client->counters().moved, 0u) << "the map was right: no redirection";
  EXPECT_TRUE(h.downs.empty());
}

TEST_F(ClusterClientTest, FollowsMovedAfterASlotMigrationAndLearnsTheNewOwner) {
  Harness h(io, {url(0)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string key = key_on(0, "moving");
  const std::uint16_t slot = key_slot(key);
  ASSERT_EQ(reply_to(*h.client, key, {"SET", key, "kept"}).text, "OK");
  ASSERT_NO_FATAL_FAILURE(migrate_slot(slot, 0, 1));
  ASSERT_EQ(call(1, {"GET", key}).text, "kept") << "the test's migration moved the key";

  const auto maps = h.client->counters().maps_applied;
  EXPECT_EQ(reply_to(*h.client, key, {"GET", key}).text, "kept");
  EXPECT_EQ(h.client->counters().moved, 1u);
  EXPECT_EQ(h.client->primary_of(slot), address(1)) << "the map was corrected";
  EXPECT_EQ(reply_to(*h.client, key, {"GET", key}).text, "kept");
  EXPECT_EQ(h.client->counters().moved, 1u) << "the second command went straight there";
  // The MOVED also had the whole map read again, which agrees.
  ASSERT_TRUE(run_until([&] { return h.client->counters().maps_applied > maps; }));
  EXPECT_EQ(h.client->primary_of(slot), address(1));
}

TEST_F(ClusterClientTest, FollowsAskDuringAMigrationWithoutChangingTheMap) {
  Harness h(io, {url(2)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  // Three keys of one slot (their hash tag) on node 0.
  const std::string tag = key_on(0, "half");
  const std::string moved = "{" + tag + "}moved";
  const std::string stays = "{" + tag + "}stays";
  const std::string created = "{" + tag + "}new";
  const std::uint16_t slot = key_slot(tag);
  ASSERT_EQ(key_slot(moved), slot);
  ASSERT_EQ(reply_to(*h.client, moved, {"SET", moved, "over there"}).text, "OK");
  ASSERT_EQ(reply_to(*h.client, stays, {"SET", stays, "still here"}).text, "OK");
  ASSERT_NO_FATAL_FAILURE(begin_migration(slot, 0, 1));
  ASSERT_NO_FATAL_FAILURE(migrate_key(moved, 0, 1));

  // Node 0 still owns the slot and serves the key it has; for the one it gave away it answers
  // ASK, which is followed (ASKING, then the command, on node 1).
  EXPECT_EQ(reply_to(*h.client, stays, {"GET", stays}).text, "still here");
  EXPECT_EQ(h.client->counters().asked, 0u);
  EXPECT_EQ(reply_to(*h.client, moved, {"GET", moved}).text, "over there");
  EXPECT_EQ(h.client->counters().asked, 1u);
  // A new key of a migrating slot is created where the slot is going.
  EXPECT_EQ(reply_to(*h.client, created, {"SET", created, "fresh"}).text, "OK");
  EXPECT_EQ(h.client->counters().asked, 2u);
  call(1, {"ASKING"});
  EXPECT_EQ(call(1, {"GET", created}).text, "fresh");
  EXPECT_EQ(h.client->primary_of(slot), address(0)) << "ASK leaves the map as it is";
  EXPECT_EQ(h.client->counters().moved, 0u);
}

TEST_F(ClusterClientTest, ShardedPubSubReachesSubscribersOnEveryShard) {
  Harness h(io, {url(0)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  std::vector<std::string> channels;
  for (int i = 0; i < kNodes; ++i) {
    channels.push_back(key_on(i, "presence-room-"));
    h.client->subscribe(channels.back());
    h.client->subscribe(channels.back());  // twice is once
  }
  for (int i = 0; i < kNodes; ++i) {
    const std::string payload = std::string("hello ").append(std::to_string(i));
    ASSERT_TRUE(publish_until_heard(i, channels[i], payload)) << "subscribed on node " << i;
    ASSERT_TRUE(run_until([&] { return heard(h, channels[i], payload); }));
  }
  EXPECT_EQ(call(1, {"PUBSUB", "SHARDNUMSUB", channels[1]}).elements.at(1).integer, 1)
      << "one subscription, on the node that owns the channel";

  h.client->unsubscribe(channels[1]);
  ASSERT_TRUE(run_until([&] { return call(1, {"SPUBLISH", channels[1], "gone"}).integer == 0; }));
  ASSERT_TRUE(publish_until_heard(2, channels[2], "still"));
  ASSERT_TRUE(run_until([&] { return heard(h, channels[2], "still"); }));
  EXPECT_FALSE(heard(h, channels[1], "gone")) << "nothing for a channel unsubscribed";
}

TEST_F(ClusterClientTest, ASubscriptionFollowsItsSlotToAnotherPrimary) {
  Harness h(io, {url(0)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string channel = key_on(0, "presence-moving-");
  h.client->subscribe(channel);
  ASSERT_TRUE(publish_until_heard(0, channel, "before"));
  ASSERT_TRUE(run_until([&] { return heard(h, channel, "before"); }));

  // Node 0 gives the slot away and tells its subscribers (an sunsubscribe push): the client
  // subscribes again on node 2, where the slot went.
  ASSERT_NO_FATAL_FAILURE(migrate_slot(key_slot(channel), 0, 2));
  ASSERT_TRUE(publish_until_heard(2, channel, "after")) << "resubscribed where the slot lives";
  ASSERT_TRUE(run_until([&] { return heard(h, channel, "after"); }));
  EXPECT_EQ(h.client->primary_of(key_slot(channel)), address(2));
  EXPECT_EQ(call(0, {"PUBSUB", "SHARDNUMSUB", channel}).elements.at(1).integer, 0);
}

// Listening means the SSUBSCRIBE is confirmed where the slot lives: the first SPUBLISH there
// reaches the client. A slot that moves takes it away until the new owner confirms it.
TEST_F(ClusterClientTest, ASubscriptionListensOnceConfirmedAndAgainWhereItsSlotWent) {
  Harness h(io, {url(0)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string channel = key_on(0, "presence-confirmed-");
  EXPECT_FALSE(h.client->listening(channel));
  h.client->subscribe(channel);
  ASSERT_TRUE(run_until([&] { return h.client->listening(channel); }));
  EXPECT_EQ(h.listening, std::vector<std::string>{channel});
  EXPECT_EQ(call(0, {"SPUBLISH", channel, "first"}).integer, 1);

  ASSERT_NO_FATAL_FAILURE(migrate_slot(key_slot(channel), 0, 2));
  ASSERT_TRUE(run_until([&] { return h.listening.size() == 2; }));
  EXPECT_TRUE(h.client->listening(channel));
  EXPECT_EQ(call(2, {"SPUBLISH", channel, "moved"}).integer, 1);

  h.client->unsubscribe(channel);
  EXPECT_FALSE(h.client->listening(channel));
}

TEST_F(ClusterClientTest, AKilledPrimaryFailsItsCommandsAndServesAgainWhenBack) {
  Harness h(io, {url(0), url(1), url(2)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string lost = key_on(1, "lost");
  const std::string kept = key_on(2, "kept");

  kill_node(1);
  ASSERT_TRUE(run_until([&] { return h.downs.size() == 1; }));
  EXPECT_FALSE(h.client->up());
  auto result = run_command(*h.client, lost, {"SET", lost, "x"});
  ASSERT_TRUE(result);
  EXPECT_TRUE(std::holds_alternative<ConnectionError>(*result)) << "its primary is out of reach";
  EXPECT_EQ(reply_to(*h.client, kept, {"SET", kept, "y"}).text, "OK")
      << "the other primaries still serve their slots";

  ASSERT_NO_FATAL_FAILURE(start_node(1));
  ASSERT_TRUE(run_until([&] { return h.ups == 2; })) << "reconnected to the primary";
  EXPECT_TRUE(h.client->up());
  EXPECT_TRUE(eventually_replies(*h.client, lost, {"SET", lost, "back"}, "OK"));
  EXPECT_EQ(call(1, {"GET", lost}).text, "back");
}

TEST_F(ClusterClientTest, APrimaryThatStopsAnsweringFailsCommandsByTheirDeadline) {
  Harness h(io, {url(0)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string key = key_on(0, "frozen");
  pause_node(0);
  // The connection is open but nothing comes back: the deadline ends the command, and the
  // connection is dropped (the replies behind a missing one would be out of step).
  auto result = run_command(*h.client, key, {"SET", key, "x"});
  ASSERT_TRUE(result);
  EXPECT_TRUE(std::holds_alternative<ConnectionError>(*result));
  ASSERT_TRUE(run_until([&] { return !h.downs.empty(); })) << "the stalled connection is dropped";
  resume_node(0);
  ASSERT_TRUE(run_until([&] { return h.ups == 2; }));
  EXPECT_TRUE(eventually_replies(*h.client, key, {"SET", key, "thawed"}, "OK"));
}

TEST_F(ClusterClientTest, ARestartedPrimaryGetsItsSubscriptionsBack) {
  Harness h(io, {url(0), url(1)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string channel = key_on(2, "presence-restart-");
  h.client->subscribe(channel);
  ASSERT_TRUE(publish_until_heard(2, channel, "first"));

  ASSERT_NO_FATAL_FAILURE(restart_node(2));
  ASSERT_TRUE(run_until([&] { return h.ups == 2; }));
  ASSERT_TRUE(publish_until_heard(2, channel, "second")) << "subscribed again after the restart";
  ASSERT_TRUE(run_until([&] { return heard(h, channel, "second"); }));
}

TEST_F(ClusterClientTest, CommandsBeforeTheMapIsKnownOrAfterStopFailAtOnce) {
  Harness h(io, {url(0)});
  bool failed = false;
  const std::string_view ping[] = {"PING"};
  h.client->command("k", ping,
                    [&](Result r) { failed = std::holds_alternative<ConnectionError>(r); });
  EXPECT_TRUE(failed) << "no map yet: no waiting";
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  // A command in flight when the client stops still ends.
  std::optional<Result> in_flight;
  const std::string_view block[] = {"BLPOP", "nothing", "0"};
  h.client->command("nothing", block, [&](Result r) { in_flight = std::move(r); });
  h.client->stop();
  ASSERT_TRUE(run_until([&] { return in_flight.has_value(); }));
  EXPECT_TRUE(std::holds_alternative<ConnectionError>(*in_flight));
  EXPECT_FALSE(h.client->up());
}

// A primary with a replica, in a Cluster that decides quickly that a node is gone.
struct ClusterFailoverTest : ClusterClientTest {
  std::vector<std::string> node_args() const override { return {"--cluster-node-timeout", "1000"}; }
  int replica = -1;
  void SetUp() override {
    ClusterClientTest::SetUp();
    if (!HasFatalFailure()) replica = add_replica(1);
  }
};

TEST_F(ClusterFailoverTest, AfterAFailoverCommandsAndSubscriptionsGoToThePromotedReplica) {
  ASSERT_FALSE(HasFailure());
  Harness h(io, {url(0)});
  ASSERT_TRUE(run_until([&] { return h.ups == 1; }));
  const std::string key = key_on(1, "failover");
  const std::string channel = key_on(1, "presence-failover-");
  h.client->subscribe(channel);
  ASSERT_TRUE(publish_until_heard(1, channel, "before"));
  ASSERT_EQ(reply_to(*h.client, key, {"SET", key, "replicated"}).text, "OK");
  call(replica, {"READONLY"});  // a replica answers reads of its primary's slots only then
  ASSERT_TRUE(run_until([&] { return call(replica, {"GET", key}).text == "replicated"; }));

  kill_node(1);
  ASSERT_TRUE(run_until([&] { return h.downs.size() == 1; }));
  // The Cluster promotes the replica (after its node timeout and an election); the client
  // learns it from the map it reads again while a primary is out of reach.
  ASSERT_TRUE(testing::run_io_until(
      io, [&] { return h.ups == 2; }, 30s))
      << "never up again after the failover";
  EXPECT_EQ(h.client->primary_of(key_slot(key)), address(replica));
  EXPECT_TRUE(eventually_replies(*h.client, key, {"GET", key}, "replicated"));
  ASSERT_TRUE(publish_until_heard(replica, channel, "after")) << "resubscribed on the new primary";
  ASSERT_TRUE(run_until([&] { return heard(h, channel, "after"); }));
}

// Every node TLS only: the map gives tls-port, and each primary is reached over TLS with the
// certificate checked against 127.0.0.1.
struct ClusterTlsTest : ClusterClientTest {
  bool tls() const override { return true; }
};

TEST_F(ClusterTlsTest, RoutesAndSubscribesOverTls) {
  Harness h(io, {url(0)}, tls_context());
  ASSERT_TRUE(run_until([&] { return h.ups == 1; })) << h.client->map_error();
  std::vector<std::string> channels;
  for (int i = 0; i < kNodes; ++i) {
    const std::string key = key_on(i, "secret");
    EXPECT_EQ(h.client->primary_of(key_slot(key)), address(i));
    EXPECT_EQ(reply_to(*h.client, key, {"SET", key, "sealed"}).text, "OK");
    EXPECT_EQ(call(i, {"GET", key}).text, "sealed");
    channels.push_back(key_on(i, "presence-tls-"));
    h.client->subscribe(channels.back());
  }
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(publish_until_heard(i, channels[i], "over tls"));
    ASSERT_TRUE(run_until([&] { return heard(h, channels[i], "over tls"); }));
  }
}

TEST_F(ClusterTlsTest, AnUntrustedCertificateKeepsTheClientDown) {
  Harness h(io, {url(0)});  // the system's authorities, which do not know the test's
  ASSERT_TRUE(run_until([&] { return !h.client->map_error().empty(); }));
  EXPECT_NE(h.client->map_error().find("certificate verify failed"), std::string::npos)
      << h.client->map_error();
  EXPECT_FALSE(h.client->up());
}

}  // namespace
}  // namespace greendot::redis
