#include "config/limit_check.hpp"

#include <cstdint>

namespace greendot::config {

namespace {

// Worst cases of JSON escaping: a control character becomes \u00XX (6 bytes); inside a JSON
// text, which has no raw control characters, a quote or backslash becomes 2.
constexpr std::uint64_t kStringEscape = 6;
constexpr std::uint64_t kTextEscape = 2;
// Names the frame carries besides its payload: an event name of up to 200 characters (escaped),
// a channel name of up to 164 (never escaped), field names, braces, and the WebSocket header.
constexpr std::uint64_t kEventNameBytes = 200 * kStringEscape;
constexpr std::uint64_t kChannelBytes = 164;
constexpr std::uint64_t kFrameOverhead = 128;

struct Need {
  std::string what;     // the frame, as the message names it
  std::string because;  // the keys that make it this large
  std::uint64_t bytes;
};

std::vector<Need> largest_frames(const AppConfig& app, const ServerSettings& server,
                                 const std::string& where) {
  const std::uint64_t id = app.max_user_id_length;
  return {
      // POST /events: data is a string, sent as a JSON string.
      {"an event triggered with " + where + ".max_event_data_bytes (" +
           std::to_string(app.max_event_data_bytes) + ") of data",
       where + ".max_event_data_bytes",
       app.max_event_data_bytes * kStringEscape + kEventNameBytes + kChannelBytes + kFrameOverhead},
      // A client event carries the client's data as JSON, and its user id.
      {"a client event of server.max_message_bytes (" + std::to_string(server.max_message_bytes) +
           ")",
       "server.max_message_bytes",
       server.max_message_bytes * kTextEscape + kEventNameBytes + kChannelBytes + id +
           kFrameOverhead},
      // member_added: user_info is JSON text inside Pusher's `data` string.
      {"member_added with " + where + ".max_user_info_bytes (" +
           std::to_string(app.max_user_info_bytes) + ") of user_info",
       where + ".max_user_info_bytes",
       (app.max_user_info_bytes + id + 32) * kTextEscape + kChannelBytes + kFrameOverhead},
      // The watchlist's online users at sign-in: quoted ids inside the `data` string.
      {"the watchlist_events of " + where + ".max_watchlist_size (" +
           std::to_string(app.max_watchlist_size) + ") users",
       where + ".max_watchlist_size",
       app.max_watchlist_size * (id + 5) * kTextEscape + kFrameOverhead},
  };
}

}  // namespace

std::vector<std::string> contradicting_limits(const Settings& settings) {
  std::vector<std::string> problems;
  const std::uint64_t queue = settings.server.max_outbound_bytes;
  for (std::size_t i = 0; i < settings.apps.size(); ++i) {
    const std::string where = "apps[" + std::to_string(i) + "]";
    for (const Need& need : largest_frames(settings.apps[i], settings.server, where)) {
      if (need.bytes <= queue) continue;
      problems.push_back("server.max_outbound_bytes (" + std::to_string(queue) + ") cannot hold " +
                         need.what + ", which takes up to " + std::to_string(need.bytes) +
                         " bytes: raise server.max_outbound_bytes to " +
                         std::to_string(need.bytes) + " or lower " + need.because);
    }
  }
  return problems;
}

}  // namespace greendot::config
