#include "api/dashboard_api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "api/presence_queries.hpp"
#include "core/channel_name.hpp"

namespace greendot::api {

namespace json = boost::json;

namespace {

bool is_presence(std::string_view channel) {
  return core::classify_channel(channel) == core::ChannelKind::Presence;
}

// Channels listed per app: the busiest, so that one app with a million channels cannot make
// every event megabytes long.
constexpr std::size_t kMaxChannelsPerApp = 200;

std::string_view query_value(const RestRequest& request, std::string_view key) {
  for (const auto& [k, v] : request.query) {
    if (k == key) return v;
  }
  return {};
}

// An engine's answer, whether it comes as the value or as an optional one (nothing: the engine
// could not answer now).
template <class T>
const T* answered(const T& value) {
  return &value;
}
template <class T>
const T* answered(const std::optional<T>& value) {
  return value ? &*value : nullptr;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The apps' channel listings as they come in, one engine answer per app.
struct Collection {
  explicit Collection(std::size_t apps) : channels(apps) {}
  std::mutex mutex;
  std::vector<json::array> channels;
  std::size_t waiting = 0;
};

json::array channel_rows(const std::vector<engine::ChannelListing>& listing) {
  std::vector<const engine::ChannelListing*> busiest;
  for (const auto& channel : listing) busiest.push_back(&channel);
  std::sort(busiest.begin(), busiest.end(), [](const auto* a, const auto* b) {
    if (a->stats.subscription_count != b->stats.subscription_count) {
      return a->stats.subscription_count > b->stats.subscription_count;
    }
    return a->name < b->name;
  });
  if (busiest.size() > kMaxChannelsPerApp) busiest.resize(kMaxChannelsPerApp);
  json::array rows;
  for (const auto* channel : busiest) {
    json::object row{{"name", channel->name}, {"subscriptions", channel->stats.subscription_count}};
    if (is_presence(channel->name)) row["members"] = channel->stats.user_count;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

void collect_dashboard_stats(server::ServerContext& context,
                             std::function<void(std::string json)> done) {
  const std::size_t apps = context.apps.size();
  auto collection = std::make_shared<Collection>(apps);
  collection->waiting = apps;
  auto finish = [&context, collection, done = std::move(done)]() {
    const auto traffic = context.traffic.totals();
    json::array app_rows;
    std::uint64_t connections = 0;
    for (std::size_t i = 0; i < collection->channels.size(); ++i) {
      const auto app = static_cast<core::AppIndex>(i);
      const std::uint32_t held = context.apps.connections(app).load();
      connections += held;
      app_rows.push_back(json::object{{"id", context.apps.app(app).id},
                                      {"connections", held},
                                      {"channels", std::move(collection->channels[i])}});
    }
    const auto* webhooks = context.webhook_counts;
    done(json::serialize(
        json::object{{"time_ms", unix_ms()},
                     {"connections", connections},
                     {"messages_in", traffic.messages_in},
                     {"messages_out", traffic.messages_out},
                     {"webhooks_delivered", webhooks ? webhooks->delivered.load() : 0},
                     {"webhooks_failed", webhooks ? webhooks->failed.load() : 0},
                     {"apps", std::move(app_rows)}}));
  };
  if (apps == 0) return finish();
  for (std::size_t i = 0; i < apps; ++i) {
    context.engine.list_channels(static_cast<core::AppIndex>(i), "",
                                 [collection, i, finish](auto listing) {
                                   bool last = false;
                                   {
                                     std::lock_guard lock(collection->mutex);
                                     // An engine that cannot answer now shows no channels for that
                                     // second.
                                     if (const auto* channels = answered(listing)) {
                                       collection->channels[i] = channel_rows(*channels);
                                     }
                                     last = --collection->waiting == 0;
                                   }
                                   if (last) finish();
                                 });
  }
}

void dashboard_members(ApiCall& call, Respond respond) {
  core::AppIndex app = 0;
  const std::string app_id(query_value(call.request, "app"));
  if (!call.context.apps.find_by_id(app_id, &app)) {
    return respond(
        rest_error(404, "Unknown app id \"" + app_id + "\" (give ?app=ID&channel=NAME)"));
  }
  const std::string channel(query_value(call.request, "channel"));
  if (!is_presence(channel)) {
    return respond(rest_error(400, "Give a presence channel as ?channel=presence-..."));
  }
  auto& context = call.context;
  context.engine.channel_users(
      app, channel, [&context, app, respond = std::move(respond)](auto users) mutable {
        const auto* ids = answered(users);
        if (!ids) return respond(rest_error(503, "Presence is unavailable right now"));
        if (ids->empty()) return respond({200, R"({"users":{}})", {}});
        // The operators see the truth: no privacy applied, and each user's settings. Asked
        // from a loop thread: an engine may hold its lock while it calls back.
        context.run_on_loop([&context, app, ids = *ids, respond = std::move(respond)]() mutable {
          users_presence(context, app, std::move(ids), {}, false, std::move(respond));
        });
      });
}

}  // namespace greendot::api
