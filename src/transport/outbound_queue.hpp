// OutboundQueue: the frames one connection has yet to send, and how far the first of them
// has been written. Frames are shared between every recipient of a broadcast, so the queue
// holds references, not copies; a flush hands all of them to the kernel in one gathered write.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <vector>

#include "engine/broker.hpp"

namespace greendot::transport {

class OutboundQueue {
 public:
  bool empty() const { return head_ == frames_.size(); }
  // Bytes not yet written.
  std::size_t bytes() const { return bytes_; }
  // Of those, the bytes of the server's own answers (push_answer), which a slow-consumer limit
  // does not count: the client asked for them and cannot receive them any other way.
  std::size_t answer_bytes() const { return answer_bytes_; }

  void push(engine::SharedFrame frame);
  // Queues an answer of the server's own making, e.g. a presence channel's member list.
  void push_answer(engine::SharedFrame frame);
  // Describes up to `max` pieces of what is unsent, in order, for sendmsg; returns how many.
  std::size_t gather(iovec* out, std::size_t max) const;
  // The kernel took `n` more bytes (at most bytes()).
  void consume(std::size_t n);
  // Forgets every frame not yet begun. A partly written frame stays: cutting it would leave
  // the peer's stream mid-frame, and whatever is sent after it (a close) unreadable.
  void drop_unstarted();
  void clear();

  // Memory held: frame slots in use (written ones included until compacted) and allocated.
  std::size_t slots() const { return frames_.size(); }
  std::size_t capacity() const { return frames_.capacity(); }

 private:
  struct Entry {
    engine::SharedFrame frame;
    bool answer = false;
  };
  void release_if_drained();

  std::vector<Entry> frames_;
  std::size_t head_ = 0;    // the first frame not completely written
  std::size_t offset_ = 0;  // bytes of frames_[head_] already written
  std::size_t bytes_ = 0;
  std::size_t answer_bytes_ = 0;
};

}  // namespace greendot::transport
