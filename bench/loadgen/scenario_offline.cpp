// Offline detection after a WebSocket ends: an observer in a presence channel times
// member_removed from the moment a subject closes (close frame, or TCP dropped without one).
// Run against the app without a grace, the figure is the server's own delay. After its close
// frame the subject waits for the server's close and then closes TCP, as browsers do: since
// 6b1807a the server leaves the channels only when the TCP connection ends, so a client that
// sent a close frame and kept the socket open would be announced only at the liveness timeout.
#include <memory>

#include "clock.hpp"
#include "histogram.hpp"
#include "scenarios.hpp"
#include "sync_client.hpp"

namespace bench {

int run_offline(const Options& o) {
  const std::string channel = "presence-offline";
  SyncClient observer(o.host, o.port, o.app_key, "127.0.0.251");
  observer.subscribe(o.app_key, o.app_secret, channel, "observer");
  Histogram by_close_frame, by_tcp_drop;
  int missed = 0, unanswered_closes = 0;
  for (int k = 1; k <= o.repeat; ++k) {
    const std::string user = "subject-" + std::to_string(k);
    auto subject = std::make_unique<SyncClient>(o.host, o.port, o.app_key, "127.0.0.252");
    subject->subscribe(o.app_key, o.app_secret, channel, user);
    if (!observer.wait_for("\\\"" + user + "\\\"", std::chrono::seconds(5))) {
      ++missed;
      continue;
    }
    const bool close_frame = k % 2 == 1;
    const std::int64_t closed = mono_ns();
    if (close_frame) {
      if (!subject->close_like_a_browser(std::chrono::seconds(5))) ++unanswered_closes;
    } else {
      subject->drop();
    }
    const auto removed = observer.wait_for("member_removed", std::chrono::seconds(15));
    const std::int64_t seen = mono_ns();
    if (!removed) {
      ++missed;
      continue;
    }
    (close_frame ? by_close_frame : by_tcp_drop).record(seen - closed);
  }
  print_report(o, {{"app_key", o.app_key},
                   {"repeat", o.repeat},
                   {"missed", missed},
                   {"unanswered_closes", unanswered_closes},
                   {"close_frame", by_close_frame.summary_ms()},
                   {"tcp_drop", by_tcp_drop.summary_ms()}});
  return 0;
}

}  // namespace bench
