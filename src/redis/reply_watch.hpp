// ReplyWatch: whether a pipelined connection has stopped answering. Its commands are answered
// in order, so the connection is silent when commands wait and no reply has come for a whole
// timeout since the later of the oldest command and the last reply. A thread that was busy
// elsewhere may find replies still unread in the socket when its timer runs first: a stall is
// only reported when it is seen at two checks in a row, the second after those replies are read.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>

namespace greendot::redis {

class ReplyWatch {
 public:
  using Clock = std::chrono::steady_clock;

  void sent(Clock::time_point now) { sent_at_.push_back(now); }
  void replied(Clock::time_point now) {
    if (!sent_at_.empty()) sent_at_.pop_front();
    last_reply_ = now;
  }
  // The connection went: its commands are answered (failed) and no longer waited for.
  void clear() {
    sent_at_.clear();
    suspect_ = false;
  }
  bool stalled(Clock::time_point now, std::chrono::milliseconds timeout) {
    if (sent_at_.empty() || now - std::max(sent_at_.front(), last_reply_) <= timeout) {
      suspect_ = false;
      return false;
    }
    if (!suspect_) {
      suspect_ = true;  // look again at the next check, after pending replies are read
      return false;
    }
    return true;
  }

 private:
  std::deque<Clock::time_point> sent_at_;
  Clock::time_point last_reply_{};
  bool suspect_ = false;
};

}  // namespace greendot::redis
