// The broker of a single node: every message goes to every local event-loop thread.
#pragma once

#include <vector>

#include "engine/broker.hpp"

namespace greendot::engine {

class LocalBroker final : public Broker {
 public:
  // Sinks must outlive the broker; they are fixed before the first publish.
  void add_sink(MessageSink& sink) { sinks_.push_back(&sink); }
  void publish(ChannelMessage message) override;

 private:
  std::vector<MessageSink*> sinks_;
};

}  // namespace greendot::engine
