// What the Redis engine could not do at once is counted (for /metrics): Redis going out of
// reach, the messages published meanwhile, and the lease found gone after Redis came back
// without its data.
#include "engine_contract_fixture.hpp"

namespace greendot::engine {
namespace {

using EngineCounted = EngineContract;

TEST_P(EngineCounted, AnOutageAndALostLeaseAreCounted) {
  const auto before = deployment_->node(0).counters();
  EXPECT_EQ(before.store_disconnections, 0u);
  EXPECT_EQ(before.messages_not_shared, 0u);
  EXPECT_EQ(before.leases_lost, 0u);

  redis_->kill_server();
  ASSERT_TRUE(eventually([&] { return !deployment_->node(0).ready(); }, 10s));
  ChannelMessage message;
  message.channel = "news";
  message.frame = make_text_frame(R"({"event":"e","channel":"news","data":"{}"})");
  deployment_->broker(0).publish(std::move(message));
  ASSERT_TRUE(eventually([&] { return deployment_->node(0).counters().messages_not_shared == 1; }));
  EXPECT_EQ(deployment_->node(0).counters().store_disconnections, 1u);
  EXPECT_TRUE(deployment_->sink(0).has("news e")) << "delivered here all the same";

  redis_->start_server();  // the same port, without the data: the lease is gone
  ASSERT_TRUE(eventually([&] { return deployment_->node(0).ready(); }, 15s));
  EXPECT_EQ(deployment_->node(0).counters().leases_lost, 1u);
  EXPECT_EQ(deployment_->node(0).counters().store_disconnections, 1u);
}

INSTANTIATE_TEST_SUITE_P(Redis, EngineCounted, ::testing::Values(Kind::Redis), kind_name);

}  // namespace
}  // namespace greendot::engine
