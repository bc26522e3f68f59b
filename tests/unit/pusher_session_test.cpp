// The Pusher session without a socket: what a connection is told, listens to and leaves, for
// the messages a client sends, against the real embedded engine.
#include "session/pusher_session.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "engine/embedded_engine.hpp"
#include "engine/local_broker.hpp"
#include "protocol/signature.hpp"
#include "storage/memory_user_store.hpp"
#include "webhooks/webhook_dispatcher.hpp"

namespace greendot::session {
namespace {

// Records what the session asks of its connection; posted work waits for run_posted().
struct FakeTransport final : SessionTransport {
  std::vector<std::string> texts;
  std::vector<std::string> answers;
  std::vector<std::uint16_t> closes;
  std::set<std::string> listening;
  std::set<std::string> signed_in;
  std::vector<std::function<void()>> posted;
  std::size_t unread = 0;
  bool overflowed = false;
  bool closed = false;

  void send_text(std::string_view text) override { texts.emplace_back(text); }
  void send_answer(std::string_view text) override { answers.emplace_back(text); }
  std::size_t unread_answer_bytes() const override { return unread; }
  void close(std::uint16_t code, std::string_view) override {
    closes.push_back(code);
    closed = true;
  }
  void overflow() override { overflowed = true; }
  Poster poster() override {
    return [this](std::function<void()> work) { posted.push_back(std::move(work)); };
  }
  void listen(core::AppIndex, std::string_view channel) override { listening.emplace(channel); }
  void stop_listening(core::AppIndex, std::string_view channel) override {
    listening.erase(std::string(channel));
  }
  void signed_in_as(core::AppIndex, const std::string& user) override { signed_in.insert(user); }
  void signed_out_as(core::AppIndex, const std::string& user) override { signed_in.erase(user); }

  // As the connection does: posted work runs later, and not at all once it has closed.
  void run_posted() {
    auto work = std::move(posted);
    posted.clear();
    for (auto& w : work) {
      if (!closed) w();
    }
  }
  bool sent(std::string_view part) const {
    for (const auto& t : texts) {
      if (t.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

config::AppConfig test_app(std::uint32_t max_watchlist_size = 100) {
  config::AppConfig app;
  app.id = "app";
  app.key = "key";
  app.secret = "secret";
  app.offline_grace_ms = 0;
  app.max_watchlist_size = max_watchlist_size;
  return app;
}

struct SessionTest : ::testing::Test {
  explicit SessionTest(std::uint32_t max_watchlist_size = 100)
      : apps({test_app(max_watchlist_size)}), webhooks(std::vector<config::AppConfig>{}) {}

  config::ServerSettings settings;
  server::AppRegistry apps;
  engine::LocalBroker broker;
  webhooks::WebhookDispatcher webhooks;
  storage::MemoryUserStore users;
  engine::EmbeddedEngine engine{broker,
                                webhooks,
                                users,
                                {"app"},
                                [] { return core::Millis{0}; },
                                [] { return std::int64_t{0}; }};
  server::ServerContext context{settings, apps, engine, broker, webhooks, {}};
  FakeTransport transport;
  protocol::SocketId socket_id{12, 34};
  PusherSession session{transport, context, 0, socket_id, 1};

  std::string sign(std::string_view text) {
    return "key:" + protocol::hmac_sha256_hex("secret", text);
  }
  void subscribe_presence(const std::string& channel, const std::string& channel_data) {
    const std::string auth = sign(socket_id.to_string() + ":" + channel + ":" + channel_data);
    boost::json::object data{{"channel", channel}, {"auth", auth}, {"channel_data", channel_data}};
    session.on_message(
        boost::json::serialize(boost::json::object{{"event", "pusher:subscribe"}, {"data", data}}));
  }
  void sign_in(const std::string& user_data) {
    const std::string auth = sign(socket_id.to_string() + "::user::" + user_data);
    boost::json::object data{{"auth", auth}, {"user_data", user_data}};
    session.on_message(
        boost::json::serialize(boost::json::object{{"event", "pusher:signin"}, {"data", data}}));
  }
  bool online(const std::string& user) {
    bool answer = false;
    engine.users_presence(0, {user}, [&](engine::Answer<std::vector<engine::UserPresence>> p) {
      answer = p.value().at(0).online;
    });
    return answer;
  }
};

// The engine says when the channel's messages reach this node (at once with one node); the
// answer comes back through the session's thread.
TEST_F(SessionTest, APublicSubscriptionListensAndAnswersOnTheSessionsThread) {
  session.on_message(R"({"event":"pusher:subscribe","data":{"channel":"news"}})");
  EXPECT_FALSE(transport.sent("pusher_internal:subscription_succeeded"));
  EXPECT_FALSE(transport.listening.contains("news"));
  transport.run_posted();
  EXPECT_TRUE(transport.listening.contains("news"));
  EXPECT_TRUE(transport.sent("pusher_internal:subscription_succeeded"));
  session.on_message(R"({"event":"pusher:subscribe","data":{"channel":"news"}})");
  EXPECT_TRUE(transport.sent("AlreadySubscribed"));
  session.on_message(R"({"event":"pusher:unsubscribe","data":{"channel":"news"}})");
  EXPECT_FALSE(transport.listening.contains("news"));
}

TEST_F(SessionTest, ASubscriptionLeftBeforeItIsAnsweredIsNeitherAnsweredNorListenedTo) {
  session.on_message(R"({"event":"pusher:subscribe","data":{"channel":"news"}})");
  session.on_message(R"({"event":"pusher:unsubscribe","data":{"channel":"news"}})");
  transport.run_posted();
  EXPECT_FALSE(transport.sent("pusher_internal:subscription_succeeded"));
  EXPECT_FALSE(transport.listening.contains("news"));
  EXPECT_EQ(session.subscription_count(), 0u);
}

TEST_F(SessionTest, APresenceJoinIsAnsweredOnTheSessionsThreadThenListens) {
  subscribe_presence("presence-room", R"({"user_id":"7"})");
  EXPECT_TRUE(transport.answers.empty()) << "the engine's answer is posted, not run inline";
  EXPECT_FALSE(transport.listening.contains("presence-room"));
  transport.run_posted();
  ASSERT_EQ(transport.answers.size(), 1u);
  EXPECT_NE(transport.answers[0].find(R"(\"ids\":[\"7\"])"), std::string::npos)
      << transport.answers[0];
  EXPECT_TRUE(transport.listening.contains("presence-room"))
      << "listening only after the member list, so no event older than it arrives";
  EXPECT_TRUE(session.is_member_as("presence-room", "7"));
  EXPECT_TRUE(session.joined_after("presence-room", 0));
  EXPECT_FALSE(session.joined_after("presence-room", 1));
}

TEST_F(SessionTest, AJoinAnsweredAfterTheCloseIsDropped) {
  subscribe_presence("presence-room", R"({"user_id":"7"})");
  session.leave_everything();
  transport.closed = true;
  transport.run_posted();
  EXPECT_TRUE(transport.answers.empty());
  EXPECT_FALSE(online("7")) << "the pending join was left with the rest";
}

TEST_F(SessionTest, AJoinTheEngineCannotServeIsARetryableRefusal) {
  engine.shut_down();
  subscribe_presence("presence-room", R"({"user_id":"7"})");
  transport.run_posted();
  EXPECT_TRUE(transport.sent(R"("type":"ServiceUnavailable")"));
  EXPECT_TRUE(transport.sent(R"("status":503)"));
  EXPECT_FALSE(transport.sent("LimitReached")) << "not a full channel";
  EXPECT_EQ(session.subscription_count(), 0u) << "the client may subscribe again";
}

TEST_F(SessionTest, AForgedPresenceSignatureIsRefused) {
  session.on_message(
      R"({"event":"pusher:subscribe","data":{"channel":"presence-room","auth":"key:00","channel_data":"{\"user_id\":\"7\"}"}})");
  EXPECT_TRUE(transport.sent("AuthError"));
  EXPECT_TRUE(transport.posted.empty()) << "never reaches the engine";
  EXPECT_FALSE(online("7"));
}

TEST_F(SessionTest, ANonReadingClientIsLetGoBeforeItJoins) {
  transport.unread = settings.max_outbound_bytes + 1;
  subscribe_presence("presence-room", R"({"user_id":"7"})");
  EXPECT_TRUE(transport.overflowed);
  EXPECT_FALSE(online("7")) << "nobody is told it came";
}

TEST_F(SessionTest, ClientEventsNeedAPrivateOrPresenceSubscription) {
  session.on_message(R"({"event":"client-typing","channel":"private-x","data":{}})");
  EXPECT_TRUE(transport.sent("Client events need a subscription to private-x"));
  session.on_message(R"({"event":"pusher:subscribe","data":{"channel":"news"}})");
  transport.run_posted();
  session.on_message(R"({"event":"client-typing","channel":"news","data":{}})");
  EXPECT_TRUE(transport.sent("only allowed on private- and presence- channels"));
}

TEST_F(SessionTest, SigningInAsAnotherUserCloses4009) {
  sign_in(R"({"id":"7"})");
  EXPECT_TRUE(transport.sent("pusher:signin_success"));
  EXPECT_TRUE(transport.signed_in.contains("7"));
  EXPECT_TRUE(online("7"));
  sign_in(R"({"id":"8"})");
  EXPECT_EQ(transport.closes, std::vector<std::uint16_t>{4009});
}

TEST_F(SessionTest, LeavingEverythingLeavesChannelsAndTheSignIn) {
  sign_in(R"({"id":"7","watchlist":["8"]})");
  subscribe_presence("presence-room", R"({"user_id":"7"})");
  transport.run_posted();
  EXPECT_TRUE(transport.listening.contains("#watchlist:7"));
  session.leave_everything();
  EXPECT_TRUE(transport.listening.empty());
  EXPECT_TRUE(transport.signed_in.empty());
  EXPECT_FALSE(online("7"));
}

struct NoWatchlists : SessionTest {
  NoWatchlists() : SessionTest(0) {}
};

// With max_watchlist_size = 0 every watchlist is cut to nothing: no channel may be left
// listened to after the connection goes (it would be a dangling subscriber in the fan-out).
TEST_F(NoWatchlists, ASignInWithAWatchlistLeavesNothingListenedTo) {
  sign_in(R"({"id":"7","watchlist":["8","9"]})");
  EXPECT_TRUE(transport.sent("Watchlist limit exceeded"));
  EXPECT_TRUE(transport.listening.empty());
  session.leave_everything();
  EXPECT_TRUE(transport.listening.empty());
}

TEST_F(SessionTest, StatusNeedsAnIdentity) {
  session.on_message(R"({"event":"greendot:status","data":{"status":"away"}})");
  EXPECT_TRUE(transport.sent("needs pusher:signin or a presence channel first"));
  sign_in(R"({"id":"7"})");
  transport.texts.clear();
  session.on_message(R"({"event":"greendot:status","data":{"status":"asleep"}})");
  EXPECT_TRUE(transport.sent("online"));
}

}  // namespace
}  // namespace greendot::session
