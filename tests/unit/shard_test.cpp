// The shard's event loop survives a handler that throws.
#include "transport/shard.hpp"

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

#include <chrono>
#include <future>
#include <stdexcept>

#include "engine/embedded_engine.hpp"
#include "engine/local_broker.hpp"
#include "storage/memory_user_store.hpp"
#include "webhooks/webhook_dispatcher.hpp"

namespace greendot::transport {
namespace {

struct ShardTest : ::testing::Test {
  config::ServerSettings settings;
  server::AppRegistry apps{{}};
  engine::LocalBroker broker;
  webhooks::WebhookDispatcher webhooks{{}};
  storage::MemoryUserStore users;
  engine::EmbeddedEngine engine{
      broker, webhooks, users, {}, [] { return core::Millis{0}; }, [] { return std::int64_t{0}; }};
  ServerContext context{settings, apps, engine, broker, webhooks, {}};
  Shard shard{context, 0};

  ~ShardTest() override {
    shard.stop();
    shard.join();
  }
};

TEST_F(ShardTest, AHandlerThatThrowsDoesNotEndTheLoop) {
  shard.start();
  std::promise<void> ran_after;
  boost::asio::post(shard.io(), [] { throw std::runtime_error("a bug in some handler"); });
  boost::asio::post(shard.io(), [] { throw 42; });  // not even a std::exception
  boost::asio::post(shard.io(), [&] { ran_after.set_value(); });
  // A real thread runs the loop: wait for it, with a bound so that a regression fails
  // instead of hanging (without the barrier the process ends at the first throw).
  EXPECT_EQ(ran_after.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
}

}  // namespace
}  // namespace greendot::transport
