#include "transport/outbound_queue.hpp"

namespace greendot::transport {

namespace {

// A drained queue keeps this many slots; a burst's larger array is given back, so that idle
// connections do not each hold the peak of the last storm.
constexpr std::size_t kRetainedCapacity = 8;
constexpr std::size_t kCompactAfter = 64;

}  // namespace

void OutboundQueue::push(engine::SharedFrame frame) {
  bytes_ += frame->size();
  frames_.push_back(Entry{std::move(frame), false});
}

void OutboundQueue::push_answer(engine::SharedFrame frame) {
  bytes_ += frame->size();
  answer_bytes_ += frame->size();
  frames_.push_back(Entry{std::move(frame), true});
}

std::size_t OutboundQueue::gather(iovec* out, std::size_t max) const {
  std::size_t count = 0;
  std::size_t skip = offset_;
  for (std::size_t i = head_; i < frames_.size() && count < max; ++i) {
    const std::string& frame = *frames_[i].frame;
    out[count].iov_base = const_cast<char*>(frame.data()) + skip;
    out[count].iov_len = frame.size() - skip;
    skip = 0;
    ++count;
  }
  return count;
}

void OutboundQueue::consume(std::size_t n) {
  bytes_ -= n;
  while (n > 0) {
    Entry& entry = frames_[head_];
    const std::size_t left = entry.frame->size() - offset_;
    const std::size_t taken = n < left ? n : left;
    if (entry.answer) answer_bytes_ -= taken;
    if (n < left) {
      offset_ += n;
      break;
    }
    n -= left;
    entry.frame.reset();
    ++head_;
    offset_ = 0;
  }
  if (empty()) return release_if_drained();
  // A slow reader that is always a little behind never drains: drop the written frames'
  // slots once they are the larger part, so the array does not grow without bound.
  if (head_ >= kCompactAfter && head_ * 2 >= frames_.size()) {
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutboundQueue::drop_unstarted() {
  const std::size_t keep = head_ + (offset_ > 0 ? 1 : 0);
  for (std::size_t i = keep; i < frames_.size(); ++i) {
    bytes_ -= frames_[i].frame->size();
    if (frames_[i].answer) answer_bytes_ -= frames_[i].frame->size();
  }
  frames_.resize(keep);
  release_if_drained();
}

void OutboundQueue::clear() {
  std::vector<Entry>().swap(frames_);
  head_ = 0;
  offset_ = 0;
  bytes_ = 0;
  answer_bytes_ = 0;
}

void OutboundQueue::release_if_drained() {
  if (!empty()) return;
  if (frames_.capacity() > kRetainedCapacity) {
    std::vector<Entry>().swap(frames_);
  } else {
    frames_.clear();
  }
  head_ = 0;
  offset_ = 0;
}

}  // namespace greendot::transport
