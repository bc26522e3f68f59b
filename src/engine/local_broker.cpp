#include "engine/local_broker.hpp"

#include "protocol/websocket_frame.hpp"

namespace greendot::engine {

SharedFrame make_text_frame(std::string_view text) {
  auto frame = std::make_shared<std::string>();
  frame->reserve(protocol::websocket::frame_header_size(text.size()) + text.size());
  protocol::websocket::append_frame(*frame, protocol::websocket::Opcode::Text, text);
  return frame;
}

void LocalBroker::publish(ChannelMessage message) {
  auto shared = std::make_shared<const ChannelMessage>(std::move(message));
  for (MessageSink* sink : sinks_) sink->deliver(shared);
}

}  // namespace greendot::engine
