#include "protocol/pusher_messages.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace greendot::protocol::pusher {
namespace {

namespace json = boost::json;

template <class T>
const T& ok(const Parsed<T>& parsed) {
  if (auto* problem = std::get_if<Problem>(&parsed)) ADD_FAILURE() << problem->message;
  return std::get<T>(parsed);
}

template <class T>
std::string problem(const Parsed<T>& parsed) {
  auto* p = std::get_if<Problem>(&parsed);
  return p ? p->message : "";
}

TEST(ParseClientMessage, ReadsEventChannelAndData) {
  auto parsed =
      parse_client_message(R"({"event":"client-x","channel":"private-a","data":{"k":1}})");
  const auto& m = ok(parsed);
  EXPECT_EQ(m.event, "client-x");
  EXPECT_EQ(m.channel, "private-a");
  EXPECT_EQ(m.data.at("k").as_int64(), 1);
}

TEST(ParseClientMessage, ExplainsBadInput) {
  EXPECT_NE(problem(parse_client_message("{")).find("Invalid JSON"), std::string::npos);
  EXPECT_EQ(problem(parse_client_message("[1]")), "A message must be a JSON object");
  EXPECT_EQ(problem(parse_client_message("{}")), "A message needs an \"event\" field");
  EXPECT_EQ(problem(parse_client_message(R"({"event":5})")), "\"event\" must be a string");
  EXPECT_EQ(problem(parse_client_message(R"({"event":"x","channel":[]})")),
            "\"channel\" must be a string");
  EXPECT_NE(problem(parse_client_message("{\"event\":\"\xff\"}")), "");
}

TEST(ReadSubscribe, ObjectAndStringForms) {
  auto a = read_subscribe(json::parse(R"({"channel":"c","auth":"k:s"})"));
  EXPECT_EQ(ok(a).channel, "c");
  EXPECT_EQ(ok(a).auth, "k:s");
  EXPECT_FALSE(ok(a).channel_data);
  auto b = read_subscribe(json::parse(R"("{\"channel\":\"c\"}")"));
  EXPECT_EQ(ok(b).channel, "c");
}

TEST(ReadSubscribe, ExplainsBadInput) {
  EXPECT_EQ(problem(read_subscribe(json::value(nullptr))),
            "The data of pusher:subscribe must be an object");
  EXPECT_EQ(problem(read_subscribe(json::parse("{}"))), "pusher:subscribe needs data.channel");
  EXPECT_EQ(problem(read_subscribe(json::parse(R"({"channel":1})"))),
            "data.channel of pusher:subscribe must be a string");
  EXPECT_EQ(problem(read_subscribe(json::parse(R"({"channel":"c","auth":1})"))),
            "data.auth of pusher:subscribe must be a string");
}

TEST(ChannelData, NumericAndStringUserIdsAreOneIdentity) {
  auto a = parse_channel_data(R"({"user_id":10,"user_info":{"name":"A"}})", 128, 1024);
  auto b = parse_channel_data(R"({"user_id":"10"})", 128, 1024);
  auto c = parse_channel_data(R"({"user_id":10.0})", 128, 1024);
  EXPECT_EQ(a.identity.user_id, "10");
  EXPECT_EQ(b.identity.user_id, "10");
  EXPECT_EQ(c.identity.user_id, "10");
  EXPECT_EQ(a.identity.user_info, R"({"name":"A"})");
  EXPECT_EQ(b.identity.user_info, "null");
}

TEST(ChannelData, Errors) {
  EXPECT_EQ(parse_channel_data("nope", 128, 1024).error, IdentityError::Malformed);
  EXPECT_EQ(parse_channel_data("{}", 128, 1024).error, IdentityError::BadUserId);
  EXPECT_EQ(parse_channel_data(R"({"user_id":""})", 128, 1024).error, IdentityError::BadUserId);
  EXPECT_EQ(parse_channel_data(R"({"user_id":1.5})", 128, 1024).error, IdentityError::BadUserId);
  EXPECT_EQ(parse_channel_data(R"({"user_id":[1]})", 128, 1024).error, IdentityError::BadUserId);
  EXPECT_EQ(parse_channel_data(R"({"user_id":"abcd"})", 3, 1024).error, IdentityError::BadUserId);
  EXPECT_EQ(parse_channel_data(R"({"user_id":"a","user_info":true})", 128, 1024).error,
            IdentityError::UserInfoNotObject);
  EXPECT_EQ(parse_channel_data(R"({"user_id":"a","user_info":{"n":"0123456789"}})", 128, 10).error,
            IdentityError::UserInfoTooLarge);
}

TEST(UserData, NeedsNonEmptyStringId) {
  EXPECT_EQ(ok(parse_user_data(R"({"id":"12345","user_info":{}})", 128)).id, "12345");
  EXPECT_NE(problem(parse_user_data(R"({"id":12345})", 128)), "");
  EXPECT_NE(problem(parse_user_data(R"({"id":""})", 128)), "");
  EXPECT_NE(problem(parse_user_data("[]", 128)), "");
}

TEST(UserData, Watchlist) {
  const auto parsed = parse_user_data(R"({"id":"1","watchlist":["2",3]})", 128);
  const auto& data = ok(parsed);
  EXPECT_EQ(data.watchlist, (std::vector<std::string>{"2", "3"}));
  EXPECT_NE(problem(parse_user_data(R"({"id":"1","watchlist":"2"})", 128)), "");
  EXPECT_NE(problem(parse_user_data(R"({"id":"1","watchlist":["a b"]})", 128)), "");
  EXPECT_EQ(
      watchlist_event("online", {"2", "3"}),
      R"({"event":"pusher_internal:watchlist_events","data":"{\"events\":[{\"name\":\"online\",\"user_ids\":[\"2\",\"3\"]}]}"})");
}

TEST(ServerMessages, ExactWireFormats) {
  EXPECT_EQ(
      connection_established("1.2", 30),
      R"({"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":30}"})");
  EXPECT_EQ(pong(), R"({"event":"pusher:pong","data":"{}"})");
  EXPECT_EQ(error(4001, "No \"app\""),
            R"({"event":"pusher:error","data":{"code":4001,"message":"No \"app\""}})");
  EXPECT_EQ(error(0, "x"), R"({"event":"pusher:error","data":{"message":"x"}})");
  EXPECT_EQ(subscription_succeeded("c"),
            R"({"event":"pusher_internal:subscription_succeeded","channel":"c","data":"{}"})");
  EXPECT_EQ(
      subscription_error("c", "AuthError", "bad", 401),
      R"({"event":"pusher:subscription_error","channel":"c","data":{"type":"AuthError","error":"bad","status":401}})");
  EXPECT_EQ(
      member_added("presence-r", "7", R"({"n":"A"})"),
      R"({"event":"pusher_internal:member_added","channel":"presence-r","data":"{\"user_id\":\"7\",\"user_info\":{\"n\":\"A\"}}"})");
  EXPECT_EQ(
      member_removed("presence-r", "7"),
      R"({"event":"pusher_internal:member_removed","channel":"presence-r","data":"{\"user_id\":\"7\"}"})");
  EXPECT_EQ(channel_event("client-t", "presence-r", R"({"on":true})", "7"),
            R"({"event":"client-t","channel":"presence-r","data":{"on":true},"user_id":"7"})");
  EXPECT_EQ(
      signin_success(R"({"id":"1"})"),
      R"({"event":"pusher:signin_success","data":"{\"user_data\":\"{\\\"id\\\":\\\"1\\\"}\"}"})");
}

TEST(ServerMessages, PresenceSnapshot) {
  PresenceSnapshot empty;
  EXPECT_EQ(empty.str(), R"({"presence":{"ids":[],"hash":{},"count":0}})");
  PresenceSnapshot two;
  two.add("3", R"({"n":"C"})");
  two.add("7", "null");
  EXPECT_EQ(two.str(),
            R"({"presence":{"ids":["3","7"],"hash":{"3":{"n":"C"},"7":null},"count":2}})");
}

TEST(ServerMessages, EscapesControlCharacters) {
  EXPECT_EQ(error(0, "a\nb\x01"), R"({"event":"pusher:error","data":{"message":"a\nb\u0001"}})");
}

}  // namespace
}  // namespace greendot::protocol::pusher
