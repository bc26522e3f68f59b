#include "config/load_settings.hpp"

#include "config/http_url.hpp"
#include "config/limit_check.hpp"
#include "redis/redis_url.hpp"

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace greendot::config {
namespace {

constexpr std::string_view kVersion = "greendot 0.1.0";

// Inclusive bounds for a numeric setting. They are generous: their job is to catch a value in
// the wrong unit or with a digit too many, not to second-guess a deployment.
struct Range {
  std::int64_t min;
  std::int64_t max;
};

constexpr Range kPortRange{0, 65535};
// Below 2 s a lease is refreshed too often to survive a busy Redis; above 5 minutes a dead
// node's members would stay too long.
constexpr Range kNodeLeaseRange{2000, 300000};
constexpr Range kRedisTimeoutRange{100, 60000};  // 0 asks the OS for any free port
constexpr Range kThreadsRange{0, 1024};          // 0 means one per core
constexpr Range kActivityTimeoutRange{1, 3600};
constexpr Range kPongTimeoutRange{1, 600};
constexpr Range kMaxMessageBytesRange{128, 16 << 20};
constexpr Range kMaxOutboundBytesRange{1024, 1 << 30};
constexpr Range kMaxHttpRequestBytesRange{1024, 64 << 20};
constexpr Range kHttpTimeoutMsRange{100, 3'600'000};
constexpr Range kServerConnectionsRange{0, 100'000'000};  // 0: derived (total), no limit (per IP)
constexpr Range kClientEventsPerSecondRange{1, 10'000};
constexpr Range kMaxPresenceMembersRange{1, 1'000'000};
constexpr Range kMaxUserInfoBytesRange{1, 1 << 20};
constexpr Range kMaxUserIdLengthRange{1, 4096};
constexpr Range kMaxConnectionsRange{0, std::numeric_limits<std::uint32_t>::max()};  // 0: no limit
constexpr Range kMaxChannelsPerConnectionRange{1, 100'000};
constexpr Range kOfflineGraceMsRange{0, 3'600'000};
constexpr Range kMaxEventDataBytesRange{1, 1 << 20};
constexpr Range kMaxWatchlistSizeRange{0, 100'000};
constexpr Range kMaxBatchEventsRange{1, 1000};
constexpr Range kHeartbeatTtlMsRange{1000, 86'400'000};
constexpr Range kMaxTokenLifetimeSRange{10, 7 * 86'400};  // a week at most: tokens are short-lived
constexpr Range kWebhookBatchMsRange{0, 60'000};          // 0: send each event as soon as it comes
constexpr Range kWebhookBatchMaxEventsRange{1, 10'000};
constexpr Range kWebhookTimeoutMsRange{100, 300'000};
constexpr Range kWebhookRetrySecondsRange{0, 86'400};  // 0: one attempt, no retries
constexpr Range kWebhookQueueLimitRange{1, 10'000'000};

constexpr std::array<std::string_view, 6> kLogLevels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};

[[noreturn]] void fail(std::string_view where, std::string_view problem) {
  throw ConfigError(std::string(where) + ": " + std::string(problem));
}

std::string quoted(std::string_view text) {
  return '"' + std::string(text) + '"';
}

// Joins with ", ", except that `last` goes before the final item: "a, b and c".
std::string join(std::span<const std::string_view> items, std::string_view last) {
  std::string joined;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) joined += i + 1 == items.size() ? last : ", ";
    joined += items[i];
  }
  return joined;
}

// `shown` is the value as the user wrote it, which may not even fit in an int64_t.
template <typename T>
T checked_number(std::string_view where, std::int64_t value, std::string_view shown, Range range) {
  if (value >= range.min && value <= range.max) return static_cast<T>(value);
  const std::string got = ", got " + std::string(shown);
  if (range.min == 1 && value < 1) fail(where, "must be a positive integer" + got);
  fail(where,
       "must be between " + std::to_string(range.min) + " and " + std::to_string(range.max) + got);
}

// Parses the whole of `text` as a decimal integer. A number too large for int64_t saturates, so
// that it is reported as out of range rather than as not a number.
template <typename T>
T parsed_number(std::string_view where, std::string_view text, Range range) {
  std::int64_t value = 0;
  const char* const text_end = text.data() + text.size();
  const auto [end, error] = std::from_chars(text.data(), text_end, value);
  if (error == std::errc::invalid_argument || end != text_end) {
    fail(where, "must be an integer, got " + quoted(text));
  }
  if (error == std::errc::result_out_of_range) {
    value = text.starts_with('-') ? std::numeric_limits<std::int64_t>::min()
                                  : std::numeric_limits<std::int64_t>::max();
  }
  return checked_number<T>(where, value, text, range);
}

using StringCheck = void (*)(std::string_view where, std::string_view value);

// For settings where every string means something (an empty data_dir: keep nothing on disk).
void check_anything(std::string_view, std::string_view) {}

void check_not_empty(std::string_view where, std::string_view value) {
  if (value.empty()) fail(where, "must not be empty");
}

// App ids and keys travel in URL paths (/app/KEY, /apps/ID/events), so they stay URL-safe.
void check_identifier(std::string_view where, std::string_view value) {
  check_not_empty(where, value);
  const auto url_safe = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  if (!std::all_of(value.begin(), value.end(), url_safe)) {
    fail(where, "must contain only letters, digits, '_', '.' and '-', got " + quoted(value));
  }
}

void check_webhook_url(std::string_view where, std::string_view value) {
  try {
    parse_http_url(value);
  } catch (const BadUrl& bad) {
    fail(where, std::string(bad.what()) + ", got " + quoted(value));
  }
}

void check_log_level(std::string_view where, std::string_view value) {
  if (std::find(kLogLevels.begin(), kLogLevels.end(), value) == kLogLevels.end()) {
    fail(where, "must be one of " + join(kLogLevels, ", ") + ", got " + quoted(value));
  }
}

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

// Reads one TOML table, remembering which keys were asked for, so that any other key (almost
// always a typo) is reported instead of silently ignored.
class TableReader {
 public:
  // `path` is the table's dotted path for messages, empty for the document itself.
  TableReader(const toml::table& table, std::string path) : table_(table), path_(std::move(path)) {}

  std::string where(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  template <typename T>
  void number(std::string_view key, T& out, Range range) {
    if (const auto* value = get<std::int64_t>(key, "an integer")) {
      out = checked_number<T>(where(key), value->get(), std::to_string(value->get()), range);
    }
  }

  void boolean(std::string_view key, bool& out) {
    if (const auto* value = get<bool>(key, "a boolean")) out = value->get();
  }

  void string(std::string_view key, std::string& out, StringCheck check) {
    if (const auto* value = get<std::string>(key, "a string")) {
      check(where(key), value->get());
      out = value->get();
    }
  }

  const toml::table* table(std::string_view key) { return get<toml::table>(key, "a table"); }

  // `toml_name` is how the file spells the tables' header, e.g. "apps.webhooks".
  const toml::array* array_of_tables(std::string_view key, std::string_view toml_name = {}) {
    const std::string_view header = toml_name.empty() ? key : toml_name;
    return get<toml::array>(key, "an array of tables ([[" + std::string(header) + "]])");
  }

  const toml::array* array(std::string_view key) { return get<toml::array>(key, "an array"); }

  // Call after asking for every key the table may have.
  void reject_unknown_keys() const {
    for (const auto& [key, node] : table_) {
      if (std::find(asked_.begin(), asked_.end(), key.str()) == asked_.end()) {
        fail(where(key.str()), "unknown key; expected " + join(asked_, " or "));
      }
    }
  }

 private:
  template <typename T>
  auto get(std::string_view key, std::string_view expected)
      -> decltype(std::declval<const toml::node&>().as<T>()) {
    asked_.push_back(key);
    const toml::node* node = table_.get(key);
    if (node == nullptr) return nullptr;
    if (const auto* value = node->as<T>()) return value;
    fail(where(key), "must be " + std::string(expected) + ", got " + type_name(node->type()));
  }

  const toml::table& table_;
  std::string path_;
  std::vector<std::string_view> asked_;
};

ServerSettings read_server(const toml::table& table) {
  TableReader reader(table, "server");
  ServerSettings server;
  reader.string("host", server.host, check_not_empty);
  reader.number("port", server.port, kPortRange);
  reader.number("threads", server.threads, kThreadsRange);
  reader.number("activity_timeout", server.activity_timeout_s, kActivityTimeoutRange);
  reader.number("pong_timeout", server.pong_timeout_s, kPongTimeoutRange);
  reader.number("max_message_bytes", server.max_message_bytes, kMaxMessageBytesRange);
  reader.number("max_outbound_bytes", server.max_outbound_bytes, kMaxOutboundBytesRange);
  reader.number("max_http_request_bytes", server.max_http_request_bytes, kMaxHttpRequestBytesRange);
  reader.number("http_timeout_ms", server.http_timeout_ms, kHttpTimeoutMsRange);
  reader.number("max_connections_total", server.max_connections_total, kServerConnectionsRange);
  reader.number("max_connections_per_ip", server.max_connections_per_ip, kServerConnectionsRange);
  reader.string("log_level", server.log_level, check_log_level);
  reader.string("data_dir", server.data_dir, check_anything);
  reader.reject_unknown_keys();
  return server;
}

void check_engine_kind(std::string_view where, std::string_view value) {
  if (value != "embedded" && value != "redis") {
    fail(where, "must be \"embedded\" or \"redis\", got " + quoted(value));
  }
}

// Each of the comma-separated URLs must parse; the message never repeats a password.
void check_redis_urls(std::string_view where, std::string_view value) {
  std::size_t place = 0;
  while (true) {
    const auto comma = value.find(',');
    const auto url = value.substr(0, comma);
    ++place;
    auto parsed = redis::parse_redis_url(url);
    if (const auto* problem = std::get_if<std::string>(&parsed)) {
      fail(where, "URL " + std::to_string(place) + ": " + *problem);
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Braces would change which part of a key Redis Cluster hashes.
void check_key_prefix(std::string_view where, std::string_view value) {
  if (value.find_first_of("{} ") != std::string_view::npos) {
    fail(where, "must not contain '{', '}' or spaces, got " + quoted(value));
  }
}

void apply_engine_kind(std::string_view text, EngineSettings& engine) {
  engine.kind = text == "redis" ? EngineKind::Redis : EngineKind::Embedded;
}

EngineSettings read_engine(const toml::table& table) {
  TableReader reader(table, "engine");
  EngineSettings engine;
  std::string kind = "embedded";
  reader.string("kind", kind, check_engine_kind);
  apply_engine_kind(kind, engine);
  reader.string("redis_url", engine.redis_url, check_redis_urls);
  reader.boolean("redis_cluster", engine.redis_cluster);
  reader.string("key_prefix", engine.key_prefix, check_key_prefix);
  reader.number("node_lease_ms", engine.node_lease_ms, kNodeLeaseRange);
  reader.number("redis_timeout_ms", engine.redis_timeout_ms, kRedisTimeoutRange);
  reader.string("redis_ca_file", engine.redis_ca_file, check_anything);
  reader.reject_unknown_keys();
  return engine;
}

WebSettings read_web(const toml::table& table) {
  TableReader reader(table, "web");
  WebSettings web;
  reader.string("demo_app", web.demo_app, check_anything);
  reader.string("dashboard_user", web.dashboard_user, check_anything);
  reader.string("dashboard_password", web.dashboard_password, check_anything);
  reader.reject_unknown_keys();
  // A user with an empty password (or the reverse) is a half-finished edit, not an open door.
  if (web.dashboard_user.empty() != web.dashboard_password.empty()) {
    fail("web.dashboard_password",
         "give both web.dashboard_user and web.dashboard_password, or neither");
  }
  if (web.dashboard_user.find(':') != std::string::npos) {
    fail("web.dashboard_user",
         "must not contain ':' (HTTP Basic separates user and password with it)");
  }
  return web;
}

// "*" or scheme://host[:port], exactly as browsers send it in the Origin header.
void check_origin(std::string_view where, std::string_view value) {
  const bool looks_like_origin = (value.starts_with("http://") || value.starts_with("https://")) &&
                                 value.find('/', value.find("//") + 2) == std::string::npos;
  if (value != "*" && !looks_like_origin) {
    fail(where,
         "must be \"*\" or an origin like \"https://example.com\" (no path), got " + quoted(value));
  }
}

std::vector<std::string> read_origins(const toml::array& array, const std::string& where) {
  std::vector<std::string> origins;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string item_where = where + "[" + std::to_string(i) + "]";
    const auto* origin = array.get(i)->as_string();
    if (origin == nullptr) fail(item_where, "must be a string");
    check_origin(item_where, origin->get());
    origins.push_back(origin->get());
  }
  return origins;
}

// A per-app setting that is one switch or one number: its key in [[apps]] and [app_defaults],
// and the variable that sets it for the app given by GREENDOT_APP_ID. One table for both, so
// that a new setting cannot be forgotten by either.
struct AppScalar {
  std::string_view key;
  std::string_view env;
  bool AppConfig::*flag = nullptr;             // a switch, or
  std::uint32_t AppConfig::*number = nullptr;  // a number within `range`
  Range range{};
};

constexpr AppScalar app_switch(std::string_view key, std::string_view env, bool AppConfig::*flag) {
  return {key, env, flag, nullptr, {}};
}

constexpr AppScalar app_number(std::string_view key, std::string_view env,
                               std::uint32_t AppConfig::*number, Range range) {
  return {key, env, nullptr, number, range};
}

constexpr std::array kAppScalars{
    app_switch("enabled", "GREENDOT_APP_ENABLED", &AppConfig::enabled),
    app_switch("client_events", "GREENDOT_APP_CLIENT_EVENTS", &AppConfig::client_events),
    app_number("client_events_per_second", "GREENDOT_APP_CLIENT_EVENTS_PER_SECOND",
               &AppConfig::client_events_per_second, kClientEventsPerSecondRange),
    app_number("max_presence_members", "GREENDOT_APP_MAX_PRESENCE_MEMBERS",
               &AppConfig::max_presence_members, kMaxPresenceMembersRange),
    app_number("max_user_info_bytes", "GREENDOT_APP_MAX_USER_INFO_BYTES",
               &AppConfig::max_user_info_bytes, kMaxUserInfoBytesRange),
    app_number("max_user_id_length", "GREENDOT_APP_MAX_USER_ID_LENGTH",
               &AppConfig::max_user_id_length, kMaxUserIdLengthRange),
    app_number("max_connections", "GREENDOT_APP_MAX_CONNECTIONS", &AppConfig::max_connections,
               kMaxConnectionsRange),
    app_number("max_channels_per_connection", "GREENDOT_APP_MAX_CHANNELS_PER_CONNECTION",
               &AppConfig::max_channels_per_connection, kMaxChannelsPerConnectionRange),
    app_number("offline_grace_ms", "GREENDOT_APP_OFFLINE_GRACE_MS", &AppConfig::offline_grace_ms,
               kOfflineGraceMsRange),
    app_switch("user_authentication", "GREENDOT_APP_USER_AUTHENTICATION",
               &AppConfig::user_authentication),
    app_number("max_watchlist_size", "GREENDOT_APP_MAX_WATCHLIST_SIZE",
               &AppConfig::max_watchlist_size, kMaxWatchlistSizeRange),
    app_number("max_event_data_bytes", "GREENDOT_APP_MAX_EVENT_DATA_BYTES",
               &AppConfig::max_event_data_bytes, kMaxEventDataBytesRange),
    app_number("max_batch_events", "GREENDOT_APP_MAX_BATCH_EVENTS", &AppConfig::max_batch_events,
               kMaxBatchEventsRange),
    app_number("heartbeat_ttl_ms", "GREENDOT_APP_HEARTBEAT_TTL_MS", &AppConfig::heartbeat_ttl_ms,
               kHeartbeatTtlMsRange),
    app_number("max_token_lifetime_s", "GREENDOT_APP_MAX_TOKEN_LIFETIME_S",
               &AppConfig::max_token_lifetime_s, kMaxTokenLifetimeSRange),
    app_number("webhook_batch_ms", "GREENDOT_APP_WEBHOOK_BATCH_MS", &AppConfig::webhook_batch_ms,
               kWebhookBatchMsRange),
    app_number("webhook_batch_max_events", "GREENDOT_APP_WEBHOOK_BATCH_MAX_EVENTS",
               &AppConfig::webhook_batch_max_events, kWebhookBatchMaxEventsRange),
    app_number("webhook_timeout_ms", "GREENDOT_APP_WEBHOOK_TIMEOUT_MS",
               &AppConfig::webhook_timeout_ms, kWebhookTimeoutMsRange),
    app_number("webhook_retry_seconds", "GREENDOT_APP_WEBHOOK_RETRY_SECONDS",
               &AppConfig::webhook_retry_seconds, kWebhookRetrySecondsRange),
    app_number("webhook_queue_limit", "GREENDOT_APP_WEBHOOK_QUEUE_LIMIT",
               &AppConfig::webhook_queue_limit, kWebhookQueueLimitRange),
};

// The list setting the environment can give too: comma-separated there.
constexpr std::string_view kAllowedOriginsEnv = "GREENDOT_APP_ALLOWED_ORIGINS";

// Every per-app setting except the identity, so that [app_defaults] can hold them too.
void read_app_options(TableReader& reader, AppConfig& app) {
  for (const AppScalar& setting : kAppScalars) {
    if (setting.flag != nullptr) {
      reader.boolean(setting.key, app.*setting.flag);
    } else {
      reader.number(setting.key, app.*setting.number, setting.range);
    }
  }
  if (const auto* origins = reader.array("allowed_origins")) {
    app.allowed_origins = read_origins(*origins, reader.where("allowed_origins"));
  }
}

std::vector<std::string> read_event_types(const toml::array& array, const std::string& where) {
  // A target that wants nothing is almost certainly a mistake; omit the key to get everything.
  if (array.empty()) fail(where, "must name at least one event type (omit it for all)");
  std::vector<std::string> names;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string item_where = where + "[" + std::to_string(i) + "]";
    const toml::node& node = *array.get(i);
    const auto* name = node.as_string();
    if (name == nullptr) fail(item_where, "must be a string, got " + type_name(node.type()));
    const std::string_view type = name->get();
    if (std::find(kWebhookEventTypes.begin(), kWebhookEventTypes.end(), type) ==
        kWebhookEventTypes.end()) {
      fail(item_where, "unknown event type " + quoted(type) + "; valid ones are " +
                           join(kWebhookEventTypes, ", "));
    }
    names.push_back(name->get());
  }
  return names;
}

WebhookTarget read_webhook(const toml::node& node, const std::string& path) {
  const toml::table* table = node.as_table();
  if (table == nullptr) fail(path, "must be a table, got " + type_name(node.type()));
  TableReader reader(*table, path);
  WebhookTarget target;
  reader.string("url", target.url, check_webhook_url);
  if (const auto* types = reader.array("event_types")) {
    target.event_types = read_event_types(*types, reader.where("event_types"));
  } else {
    target.event_types.assign(kWebhookEventTypes.begin(), kWebhookEventTypes.end());
  }
  reader.reject_unknown_keys();
  if (target.url.empty()) fail(reader.where("url"), "is required");
  return target;
}

std::vector<WebhookTarget> read_webhooks(const toml::array& array, const std::string& path) {
  std::vector<WebhookTarget> targets;
  for (std::size_t i = 0; i < array.size(); ++i) {
    targets.push_back(read_webhook(*array.get(i), path + "[" + std::to_string(i) + "]"));
  }
  return targets;
}

AppConfig read_app_defaults(const toml::table& table) {
  TableReader reader(table, "app_defaults");
  AppConfig defaults;
  read_app_options(reader, defaults);
  reader.reject_unknown_keys();
  return defaults;
}

AppConfig read_app(const toml::node& node, const std::string& path, const AppConfig& defaults) {
  const toml::table* table = node.as_table();
  if (table == nullptr) fail(path, "must be a table, got " + type_name(node.type()));
  TableReader reader(*table, path);
  AppConfig app = defaults;
  reader.string("id", app.id, check_identifier);
  reader.string("key", app.key, check_identifier);
  reader.string("secret", app.secret, check_not_empty);
  read_app_options(reader, app);
  if (const auto* webhooks = reader.array_of_tables("webhooks", "apps.webhooks")) {
    app.webhooks = read_webhooks(*webhooks, reader.where("webhooks"));
  }
  // Before the required-key check: a misspelt "secrt" is better reported as itself.
  reader.reject_unknown_keys();
  // Read values were checked non-empty, so empty here means absent.
  const auto require = [&](std::string_view key, const std::string& value) {
    if (value.empty()) fail(reader.where(key), "is required");
  };
  require("id", app.id);
  require("key", app.key);
  require("secret", app.secret);
  return app;
}

std::vector<AppConfig> read_apps(const toml::array& array, const AppConfig& defaults) {
  std::vector<AppConfig> apps;
  for (std::size_t i = 0; i < array.size(); ++i) {
    apps.push_back(read_app(*array.get(i), "apps[" + std::to_string(i) + "]", defaults));
  }
  return apps;
}

// What the file says, including the defaults for an app that the environment adds.
struct FileSettings {
  Settings settings;
  AppConfig app_defaults;
};

FileSettings read_document(const toml::table& document) {
  TableReader reader(document, "");
  FileSettings file;
  if (const auto* server = reader.table("server")) file.settings.server = read_server(*server);
  if (const auto* web = reader.table("web")) file.settings.server.web = read_web(*web);
  if (const auto* engine = reader.table("engine")) file.settings.engine = read_engine(*engine);
  if (const auto* defaults = reader.table("app_defaults")) {
    file.app_defaults = read_app_defaults(*defaults);
  }
  if (const auto* apps = reader.array_of_tables("apps")) {
    file.settings.apps = read_apps(*apps, file.app_defaults);
  }
  reader.reject_unknown_keys();
  return file;
}

[[noreturn]] void fail_to_read(const std::string& path, std::error_code error) {
  fail(path, "cannot read config file: " + error.message());
}

toml::table parse_file(const std::string& path) {
  // An ifstream opens a directory happily and then reads nothing, which would look like an
  // empty file.
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    fail_to_read(path, std::make_error_code(std::errc::is_a_directory));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_to_read(path, {errno, std::generic_category()});
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  if (in.bad()) fail_to_read(path, {errno, std::generic_category()});
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    fail(path + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column),
         "invalid TOML: " + std::string(error.description()));
  }
}

// A setting that both the environment and the command line can give.
struct Override {
  std::string_view name;  // how the code below refers to it
  std::string_view env;
  std::string_view flag;
  std::string_view value_name;
  std::string_view help;
};

constexpr std::array kOverrides{
    Override{"config", "GREENDOT_CONFIG", "--config", "FILE", "TOML configuration file"},
    Override{"host", "GREENDOT_HOST", "--host", "ADDRESS", "address to listen on"},
    Override{"port", "GREENDOT_PORT", "--port", "PORT", "port to listen on; 0 picks a free one"},
    Override{"threads", "GREENDOT_THREADS", "--threads", "N",
             "event-loop threads; 0 means one per core"},
    Override{"activity_timeout", "GREENDOT_ACTIVITY_TIMEOUT", "--activity-timeout", "SECONDS",
             "silence after which a connection is pinged"},
    Override{"pong_timeout", "GREENDOT_PONG_TIMEOUT", "--pong-timeout", "SECONDS",
             "how long to wait for a reply to a ping"},
    Override{"max_message_bytes", "GREENDOT_MAX_MESSAGE_BYTES", "--max-message-bytes", "BYTES",
             "largest WebSocket message accepted from a client"},
    Override{"log_level", "GREENDOT_LOG_LEVEL", "--log-level", "LEVEL",
             "trace, debug, info, warn, error or off"},
    Override{"data_dir", "GREENDOT_DATA_DIR", "--data-dir", "DIR",
             "directory of the SQLite file that keeps last seen and privacy"},
    Override{"offline_grace_ms", "GREENDOT_OFFLINE_GRACE_MS", "--offline-grace-ms", "MS",
             "how long a departed member stays present, for every app"},
    Override{"engine", "GREENDOT_ENGINE", "--engine", "KIND",
             "where presence lives: embedded (one node) or redis (shared by many)"},
    Override{"redis_url", "GREENDOT_REDIS_URL", "--redis-url", "URL",
             "redis://[user[:password]@]host[:port][/db]; comma-separated Cluster seeds"},
    Override{"redis_key_prefix", "GREENDOT_REDIS_KEY_PREFIX", "--redis-key-prefix", "PREFIX",
             "prefix of every Redis key and channel"},
    Override{"node_lease_ms", "GREENDOT_NODE_LEASE_MS", "--node-lease-ms", "MS",
             "how long a silent node's members are kept before the others remove them"},
    Override{"app_id", "GREENDOT_APP_ID", "--app-id", "ID",
             "id of an app to add, or to update if the config file has it"},
    Override{"app_key", "GREENDOT_APP_KEY", "--app-key", "KEY", "that app's key"},
    Override{"app_secret", "GREENDOT_APP_SECRET", "--app-secret", "SECRET", "that app's secret"},
};

constexpr std::array<std::string_view, 3> kAppIdentity{"app_id", "app_key", "app_secret"};

// A value from the environment or the command line, and the variable or flag it came from.
struct Given {
  std::string source;
  std::string text;
};

using Givens = std::map<std::string_view, Given>;  // by Override::name

const Given* find(const Givens& givens, std::string_view name) {
  const auto found = givens.find(name);
  return found == givens.end() ? nullptr : &found->second;
}

const Override& override_named(std::string_view name) {
  return *std::find_if(kOverrides.begin(), kOverrides.end(),
                       [&](const Override& o) { return o.name == name; });
}

// Id, key and secret only make sense together; a partial set is a mistake, not an update.
void require_whole_app(const Givens& givens, std::string_view Override::*source) {
  std::vector<std::string_view> all;
  std::vector<std::string_view> missing;
  for (std::string_view name : kAppIdentity) {
    all.push_back(override_named(name).*source);
    if (find(givens, name) == nullptr) missing.push_back(all.back());
  }
  if (missing.empty() || missing.size() == all.size()) return;
  throw ConfigError("missing " + join(missing, " and ") + ": an app needs " + join(all, " and ") +
                    " together");
}

Givens from_environment(const EnvironmentLookup& env) {
  Givens givens;
  for (const Override& o : kOverrides) {
    // Empty counts as unset: container setups often pass VAR=${VAR} for variables they lack.
    if (auto text = env(std::string(o.env)); text && !text->empty()) {
      givens[o.name] = {std::string(o.env), std::move(*text)};
    }
  }
  require_whole_app(givens, &Override::env);
  return givens;
}

void parse_command_line(CLI::App& app, int argc, const char* const* argv) {
  // CLI11 wants the arguments after the program name, last first.
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    throw CommandLineExit{0, app.help()};
  } catch (const CLI::CallForVersion& version) {
    throw CommandLineExit{0, std::string(version.what()) + "\n"};
  } catch (const CLI::ParseError& error) {
    throw ConfigError(std::string(error.what()) + " (see --help)");
  }
}

Givens from_command_line(int argc, const char* const* argv) {
  CLI::App app{"A Pusher-protocol-compatible presence server.", "greendot"};
  app.set_version_flag("--version", std::string(kVersion));
  app.footer(
      "Settings come from the config file, then the environment variables shown in brackets, "
      "then these flags; later ones win.");
  std::map<std::string_view, std::string> texts;
  std::vector<std::pair<const Override*, const CLI::Option*>> options;
  for (const Override& o : kOverrides) {
    const std::string help = std::string(o.help) + " [" + std::string(o.env) + "]";
    CLI::Option* option = app.add_option(std::string(o.flag), texts[o.name], help);
    option->type_name(std::string(o.value_name));
    options.emplace_back(&o, option);
  }
  parse_command_line(app, argc, argv);
  Givens givens;
  for (const auto& [o, option] : options) {
    if (option->count() > 0) givens[o->name] = {std::string(o->flag), texts[o->name]};
  }
  require_whole_app(givens, &Override::flag);
  return givens;
}

FileSettings read_file(const Given& config) {
  check_not_empty(config.source, config.text);
  return read_document(parse_file(config.text));
}

void override_string(const Givens& givens, std::string_view name, std::string& out,
                     StringCheck check) {
  if (const Given* given = find(givens, name)) {
    check(given->source, given->text);
    out = given->text;
  }
}

template <typename T>
void override_number(const Givens& givens, std::string_view name, T& out, Range range) {
  if (const Given* given = find(givens, name)) {
    out = parsed_number<T>(given->source, given->text, range);
  }
}

void apply_server(const Givens& givens, ServerSettings& server) {
  override_string(givens, "host", server.host, check_not_empty);
  override_number(givens, "port", server.port, kPortRange);
  override_number(givens, "threads", server.threads, kThreadsRange);
  override_number(givens, "activity_timeout", server.activity_timeout_s, kActivityTimeoutRange);
  override_number(givens, "pong_timeout", server.pong_timeout_s, kPongTimeoutRange);
  override_number(givens, "max_message_bytes", server.max_message_bytes, kMaxMessageBytesRange);
  override_string(givens, "log_level", server.log_level, check_log_level);
  override_string(givens, "data_dir", server.data_dir, check_anything);
}

void apply_engine(const Givens& givens, EngineSettings& engine) {
  std::string kind = engine.kind == EngineKind::Redis ? "redis" : "embedded";
  override_string(givens, "engine", kind, check_engine_kind);
  apply_engine_kind(kind, engine);
  override_string(givens, "redis_url", engine.redis_url, check_redis_urls);
  override_string(givens, "redis_key_prefix", engine.key_prefix, check_key_prefix);
  override_number(givens, "node_lease_ms", engine.node_lease_ms, kNodeLeaseRange);
}

// Adds the app that the environment or command line describes, or, if the file already has an
// app with that id, replaces its key and secret (rotating credentials without editing the file).
void apply_app(const Givens& givens, const AppConfig& defaults, std::vector<AppConfig>& apps) {
  if (find(givens, "app_id") == nullptr) return;  // require_whole_app: all three or none
  AppConfig given = defaults;
  override_string(givens, "app_id", given.id, check_identifier);
  override_string(givens, "app_key", given.key, check_identifier);
  override_string(givens, "app_secret", given.secret, check_not_empty);
  const auto existing = std::find_if(apps.begin(), apps.end(),
                                     [&](const AppConfig& app) { return app.id == given.id; });
  if (existing == apps.end()) {
    apps.push_back(std::move(given));
    return;
  }
  existing->key = std::move(given.key);
  existing->secret = std::move(given.secret);
}

// The per-app settings that the environment gives for the app of GREENDOT_APP_ID.
struct AppEnvironment {
  std::vector<std::pair<const AppScalar*, Given>> scalars;
  std::optional<Given> allowed_origins;
  bool empty() const { return scalars.empty() && !allowed_origins; }
  const std::string& first_source() const {
    return scalars.empty() ? allowed_origins->source : scalars.front().second.source;
  }
};

AppEnvironment app_environment(const EnvironmentLookup& env) {
  AppEnvironment given;
  // Empty counts as unset, as for the other variables.
  for (const AppScalar& setting : kAppScalars) {
    if (auto text = env(std::string(setting.env)); text && !text->empty()) {
      given.scalars.emplace_back(&setting, Given{std::string(setting.env), std::move(*text)});
    }
  }
  if (auto text = env(std::string(kAllowedOriginsEnv)); text && !text->empty()) {
    given.allowed_origins = Given{std::string(kAllowedOriginsEnv), std::move(*text)};
  }
  return given;
}

bool parsed_switch(std::string_view where, std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  fail(where, "must be true or false, got " + quoted(text));
}

// "https://a.example, http://localhost:5173": commas between origins, spaces around them allowed.
std::vector<std::string> parsed_origins(std::string_view where, std::string_view text) {
  std::vector<std::string> origins;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (item.starts_with(' ')) item.remove_prefix(1);
    while (item.ends_with(' ')) item.remove_suffix(1);
    if (item.empty()) fail(where, "has an empty origin between commas, got " + quoted(text));
    check_origin(where, item);
    origins.emplace_back(item);
    if (comma == std::string_view::npos) return origins;
    rest.remove_prefix(comma + 1);
  }
}

// Last, so that these win over the file and over GREENDOT_OFFLINE_GRACE_MS for that one app.
void apply_app_environment(const AppEnvironment& given, const Givens& givens,
                           std::vector<AppConfig>& apps) {
  if (given.empty()) return;
  const Given* id = find(givens, "app_id");
  if (id == nullptr) {
    throw ConfigError(given.first_source() +
                      " sets the app given by GREENDOT_APP_ID, GREENDOT_APP_KEY and "
                      "GREENDOT_APP_SECRET (or --app-id, --app-key and --app-secret), which "
                      "are not set");
  }
  AppConfig& app =
      *std::find_if(apps.begin(), apps.end(), [&](const AppConfig& a) { return a.id == id->text; });
  for (const auto& [setting, value] : given.scalars) {
    if (setting->flag != nullptr) {
      app.*setting->flag = parsed_switch(value.source, value.text);
    } else {
      app.*setting->number = parsed_number<std::uint32_t>(value.source, value.text, setting->range);
    }
  }
  if (given.allowed_origins) {
    app.allowed_origins =
        parsed_origins(given.allowed_origins->source, given.allowed_origins->text);
  }
}

void apply_offline_grace(const Givens& givens, std::vector<AppConfig>& apps) {
  if (const Given* given = find(givens, "offline_grace_ms")) {
    const auto grace_ms =
        parsed_number<std::uint32_t>(given->source, given->text, kOfflineGraceMsRange);
    for (AppConfig& app : apps) app.offline_grace_ms = grace_ms;
  }
}

void check_unique(std::map<std::string_view, std::size_t>& seen, std::string_view field,
                  std::string_view value, std::size_t index) {
  const auto [first, inserted] = seen.emplace(value, index);
  if (!inserted) {
    fail("apps[" + std::to_string(index) + "]." + std::string(field),
         "duplicate app " + std::string(field) + " " + quoted(value) + ", already used by apps[" +
             std::to_string(first->second) + "]");
  }
}

void check_apps(const std::vector<AppConfig>& apps, const Given* config) {
  if (apps.empty() && config == nullptr) {
    throw ConfigError(
        "no app configured: give --config FILE or GREENDOT_APP_ID, GREENDOT_APP_KEY and "
        "GREENDOT_APP_SECRET");
  }
  if (apps.empty()) {
    throw ConfigError("no app configured: " + config->text +
                      " has no [[apps]] entry; add one or give GREENDOT_APP_ID, "
                      "GREENDOT_APP_KEY and GREENDOT_APP_SECRET");
  }
  std::map<std::string_view, std::size_t> ids;
  std::map<std::string_view, std::size_t> keys;
  for (std::size_t i = 0; i < apps.size(); ++i) {
    check_unique(ids, "id", apps[i].id, i);
    check_unique(keys, "key", apps[i].key, i);
  }
}

void check_demo_app(const Settings& settings) {
  const std::string& demo = settings.server.web.demo_app;
  if (demo.empty()) return;
  for (const auto& app : settings.apps) {
    if (app.id == demo) return;
  }
  throw ConfigError("web.demo_app: no app has the id \"" + demo + "\"");
}

// Every contradiction at once, so that one edit fixes the file.
void check_limits_agree(const Settings& settings) {
  std::string message;
  for (const auto& problem : contradicting_limits(settings)) {
    if (message.find(problem) != std::string::npos) continue;  // the same for several apps
    if (!message.empty()) message += "\n";
    message += problem;
  }
  if (!message.empty()) throw ConfigError(message);
}

}  // namespace

Settings load_settings(int argc, const char* const* argv, const EnvironmentLookup& env) {
  // The command line goes first so that --help and --version work however broken the rest is.
  const Givens flags = from_command_line(argc, argv);
  Givens givens = from_environment(env);
  for (const auto& [name, given] : flags) givens.insert_or_assign(name, given);

  const Given* config = find(givens, "config");
  FileSettings file = config == nullptr ? FileSettings{} : read_file(*config);
  apply_server(givens, file.settings.server);
  apply_engine(givens, file.settings.engine);
  apply_app(givens, file.app_defaults, file.settings.apps);
  apply_offline_grace(givens, file.settings.apps);
  apply_app_environment(app_environment(env), givens, file.settings.apps);
  check_apps(file.settings.apps, config);
  check_demo_app(file.settings);
  check_limits_agree(file.settings);
  return std::move(file.settings);
}

}  // namespace greendot::config
