#include "config/load_settings.hpp"

#include "config/limit_check.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

namespace greendot::config {
namespace {

constexpr const char* kOneApp = R"(
[[apps]]
id = "dev-app"
key = "dev-key"
secret = "dev-secret"
)";

// A fresh directory for config files, removed with its contents afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "greendot-config-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class LoadSettingsTest : public ::testing::Test {
 protected:
  // Writes `contents` to a file in the temp dir and returns its path.
  std::string write_config(const std::string& contents, const std::string& name = "config.toml") {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path) << contents;
    return path;
  }

  Settings load(const std::vector<std::string>& args = {}) {
    std::vector<const char*> argv{"greendot"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    const EnvironmentLookup lookup = [this](const std::string& name) -> std::optional<std::string> {
      const auto found = env_.find(name);
      if (found == env_.end()) return std::nullopt;
      return found->second;
    };
    return load_settings(static_cast<int>(argv.size()), argv.data(), lookup);
  }

  Settings load_file(const std::string& contents) {
    return load({"--config", write_config(contents)});
  }

  std::string error(const std::vector<std::string>& args = {}) {
    try {
      load(args);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::string file_error(const std::string& contents) {
    return error({"--config", write_config(contents)});
  }

  CommandLineExit exit_of(const std::vector<std::string>& args) {
    try {
      load(args);
    } catch (const CommandLineExit& e) {
      return e;
    }
    return {-1, "(no exit)"};
  }

  void set_env_app(const std::string& id, const std::string& key, const std::string& secret) {
    env_["GREENDOT_APP_ID"] = id;
    env_["GREENDOT_APP_KEY"] = key;
    env_["GREENDOT_APP_SECRET"] = secret;
  }

  TempDir dir_;
  std::map<std::string, std::string> env_;
};

// ---- Defaults and the file ----

TEST_F(LoadSettingsTest, AppFromEnvironmentAloneGetsAllDefaults) {
  set_env_app("a", "k", "s");
  const Settings settings = load();

  const ServerSettings defaults;
  EXPECT_EQ(settings.server.host, defaults.host);
  EXPECT_EQ(settings.server.port, defaults.port);
  EXPECT_EQ(settings.server.threads, defaults.threads);
  EXPECT_EQ(settings.server.activity_timeout_s, defaults.activity_timeout_s);
  EXPECT_EQ(settings.server.pong_timeout_s, defaults.pong_timeout_s);
  EXPECT_EQ(settings.server.max_message_bytes, defaults.max_message_bytes);
  EXPECT_EQ(settings.server.max_outbound_bytes, defaults.max_outbound_bytes);
  EXPECT_EQ(settings.server.max_http_request_bytes, defaults.max_http_request_bytes);
  EXPECT_EQ(settings.server.log_level, defaults.log_level);

  ASSERT_EQ(settings.apps.size(), 1u);
  const AppConfig& app = settings.apps[0];
  const AppConfig app_defaults;
  EXPECT_EQ(app.id, "a");
  EXPECT_EQ(app.key, "k");
  EXPECT_EQ(app.secret, "s");
  EXPECT_EQ(app.enabled, app_defaults.enabled);
  EXPECT_EQ(app.client_events, app_defaults.client_events);
  EXPECT_EQ(app.client_events_per_second, app_defaults.client_events_per_second);
  EXPECT_EQ(app.max_presence_members, app_defaults.max_presence_members);
  EXPECT_EQ(app.max_user_info_bytes, app_defaults.max_user_info_bytes);
  EXPECT_EQ(app.max_user_id_length, app_defaults.max_user_id_length);
  EXPECT_EQ(app.max_connections, app_defaults.max_connections);
  EXPECT_EQ(app.max_channels_per_connection, app_defaults.max_channels_per_connection);
  EXPECT_EQ(app.offline_grace_ms, app_defaults.offline_grace_ms);
  EXPECT_EQ(app.user_authentication, app_defaults.user_authentication);
}

TEST_F(LoadSettingsTest, ReadsEveryKeyFromTheFile) {
  const Settings settings = load_file(R"(
[server]
host = "0.0.0.0"
port = 7000
threads = 4
activity_timeout = 60
pong_timeout = 10
max_message_bytes = 20000
max_outbound_bytes = 2000000
max_http_request_bytes = 100000
log_level = "debug"

[[apps]]
id = "app-1"
key = "key.1"
secret = "s3cret"
enabled = false
client_events = false
client_events_per_second = 5
max_presence_members = 50
max_user_info_bytes = 512
max_user_id_length = 64
max_connections = 1000
max_channels_per_connection = 20
offline_grace_ms = 0
user_authentication = false
)");

  EXPECT_EQ(settings.server.host, "0.0.0.0");
  EXPECT_EQ(settings.server.port, 7000);
  EXPECT_EQ(settings.server.threads, 4u);
  EXPECT_EQ(settings.server.activity_timeout_s, 60u);
  EXPECT_EQ(settings.server.pong_timeout_s, 10u);
  EXPECT_EQ(settings.server.max_message_bytes, 20000u);
  EXPECT_EQ(settings.server.max_outbound_bytes, 2000000u);
  EXPECT_EQ(settings.server.max_http_request_bytes, 100000u);
  EXPECT_EQ(settings.server.log_level, "debug");

  ASSERT_EQ(settings.apps.size(), 1u);
  const AppConfig& app = settings.apps[0];
  EXPECT_EQ(app.id, "app-1");
  EXPECT_EQ(app.key, "key.1");
  EXPECT_EQ(app.secret, "s3cret");
  EXPECT_FALSE(app.enabled);
  EXPECT_FALSE(app.client_events);
  EXPECT_EQ(app.client_events_per_second, 5u);
  EXPECT_EQ(app.max_presence_members, 50u);
  EXPECT_EQ(app.max_user_info_bytes, 512u);
  EXPECT_EQ(app.max_user_id_length, 64u);
  EXPECT_EQ(app.max_connections, 1000u);
  EXPECT_EQ(app.max_channels_per_connection, 20u);
  EXPECT_EQ(app.offline_grace_ms, 0u);
  EXPECT_FALSE(app.user_authentication);
}

TEST_F(LoadSettingsTest, AppDefaultsApplyToEveryAppUnlessTheAppSaysOtherwise) {
  const Settings settings = load_file(R"(
[app_defaults]
offline_grace_ms = 500
max_presence_members = 10

[[apps]]
id = "a"
key = "ka"
secret = "sa"

[[apps]]
id = "b"
key = "kb"
secret = "sb"
offline_grace_ms = 900
)");
  ASSERT_EQ(settings.apps.size(), 2u);
  EXPECT_EQ(settings.apps[0].offline_grace_ms, 500u);
  EXPECT_EQ(settings.apps[0].max_presence_members, 10u);
  EXPECT_EQ(settings.apps[1].offline_grace_ms, 900u);
  EXPECT_EQ(settings.apps[1].max_presence_members, 10u);
}

TEST_F(LoadSettingsTest, PortZeroMeansAnyFreePort) {
  EXPECT_EQ(load_file(std::string("[server]\nport = 0\n") + kOneApp).server.port, 0);
}

TEST_F(LoadSettingsTest, ConfigPathMayComeFromTheEnvironment) {
  env_["GREENDOT_CONFIG"] = write_config(kOneApp);
  ASSERT_EQ(load().apps.size(), 1u);
  EXPECT_EQ(load().apps[0].id, "dev-app");
}

// ---- Precedence ----

TEST_F(LoadSettingsTest, EnvironmentOverridesFileAndFlagsOverrideEnvironment) {
  const std::string config = write_config(std::string(R"(
[server]
host = "10.0.0.1"
port = 7000
threads = 2
log_level = "warn"
)") + kOneApp);
  env_["GREENDOT_PORT"] = "7001";
  env_["GREENDOT_THREADS"] = "3";
  const Settings settings = load({"--config", config, "--threads", "5"});
  EXPECT_EQ(settings.server.host, "10.0.0.1");  // file only
  EXPECT_EQ(settings.server.port, 7001);        // environment beats file
  EXPECT_EQ(settings.server.threads, 5u);       // flag beats environment
  EXPECT_EQ(settings.server.log_level, "warn");
}

TEST_F(LoadSettingsTest, ConfigFlagBeatsConfigEnvironmentVariable) {
  env_["GREENDOT_CONFIG"] = (dir_.path() / "missing.toml").string();
  EXPECT_EQ(load({"--config", write_config(kOneApp)}).apps.size(), 1u);
}

// Each server setting that the environment and the flags can give, with a non-default value.
struct ServerOverride {
  const char* env;
  const char* flag;
  const char* value;
  std::string (*read)(const ServerSettings&);
};

const ServerOverride kServerOverrides[] = {
    {"GREENDOT_HOST", "--host", "::1", [](const ServerSettings& s) { return s.host; }},
    {"GREENDOT_PORT", "--port", "8080",
     [](const ServerSettings& s) { return std::to_string(s.port); }},
    {"GREENDOT_THREADS", "--threads", "7",
     [](const ServerSettings& s) { return std::to_string(s.threads); }},
    {"GREENDOT_ACTIVITY_TIMEOUT", "--activity-timeout", "120",
     [](const ServerSettings& s) { return std::to_string(s.activity_timeout_s); }},
    {"GREENDOT_PONG_TIMEOUT", "--pong-timeout", "5",
     [](const ServerSettings& s) { return std::to_string(s.pong_timeout_s); }},
    {"GREENDOT_MAX_MESSAGE_BYTES", "--max-message-bytes", "4096",
     [](const ServerSettings& s) { return std::to_string(s.max_message_bytes); }},
    {"GREENDOT_LOG_LEVEL", "--log-level", "trace",
     [](const ServerSettings& s) { return s.log_level; }},
};

TEST_F(LoadSettingsTest, EveryServerSettingCanComeFromTheEnvironment) {
  for (const ServerOverride& o : kServerOverrides) {
    env_.clear();
    set_env_app("a", "k", "s");
    env_[o.env] = o.value;
    EXPECT_EQ(o.read(load().server), o.value) << o.env;
  }
}

TEST_F(LoadSettingsTest, EveryServerSettingCanComeFromAFlag) {
  set_env_app("a", "k", "s");
  for (const ServerOverride& o : kServerOverrides) {
    EXPECT_EQ(o.read(load({o.flag, o.value}).server), o.value) << o.flag;
    EXPECT_EQ(o.read(load({std::string(o.flag) + "=" + o.value}).server), o.value) << o.flag;
  }
}

TEST_F(LoadSettingsTest, OfflineGraceOverrideAppliesToEveryApp) {
  const std::string config = write_config(std::string(kOneApp) + R"(
[[apps]]
id = "other"
key = "other-key"
secret = "other-secret"
offline_grace_ms = 100
)");
  set_env_app("env-app", "env-key", "env-secret");
  env_["GREENDOT_OFFLINE_GRACE_MS"] = "250";
  const Settings from_env = load({"--config", config});
  ASSERT_EQ(from_env.apps.size(), 3u);
  for (const AppConfig& app : from_env.apps) EXPECT_EQ(app.offline_grace_ms, 250u) << app.id;

  for (const AppConfig& app : load({"--config", config, "--offline-grace-ms", "0"}).apps) {
    EXPECT_EQ(app.offline_grace_ms, 0u) << app.id;
  }
}

TEST_F(LoadSettingsTest, EnvironmentAppWithAnExistingIdReplacesOnlyKeyAndSecret) {
  const std::string config = write_config(R"(
[[apps]]
id = "dev-app"
key = "old-key"
secret = "old-secret"
max_presence_members = 7
)");
  set_env_app("dev-app", "new-key", "new-secret");
  const Settings settings = load({"--config", config});
  ASSERT_EQ(settings.apps.size(), 1u);
  EXPECT_EQ(settings.apps[0].key, "new-key");
  EXPECT_EQ(settings.apps[0].secret, "new-secret");
  EXPECT_EQ(settings.apps[0].max_presence_members, 7u);
}

TEST_F(LoadSettingsTest, EnvironmentAppWithANewIdIsAddedWithAppDefaults) {
  const std::string config =
      write_config(std::string("[app_defaults]\nmax_connections = 9\n") + kOneApp);
  set_env_app("second", "second-key", "second-secret");
  const Settings settings = load({"--config", config});
  ASSERT_EQ(settings.apps.size(), 2u);
  EXPECT_EQ(settings.apps[1].id, "second");
  EXPECT_EQ(settings.apps[1].key, "second-key");
  EXPECT_EQ(settings.apps[1].secret, "second-secret");
  EXPECT_EQ(settings.apps[1].max_connections, 9u);
}

TEST_F(LoadSettingsTest, FlagAppReplacesEnvironmentApp) {
  set_env_app("env-app", "env-key", "env-secret");
  const Settings settings =
      load({"--app-id", "flag-app", "--app-key", "flag-key", "--app-secret", "flag-secret"});
  ASSERT_EQ(settings.apps.size(), 1u);
  EXPECT_EQ(settings.apps[0].id, "flag-app");
  EXPECT_EQ(settings.apps[0].key, "flag-key");
  EXPECT_EQ(settings.apps[0].secret, "flag-secret");
}

TEST_F(LoadSettingsTest, EmptyEnvironmentVariablesCountAsUnset) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_PORT"] = "";
  env_["GREENDOT_CONFIG"] = "";
  EXPECT_EQ(load().server.port, ServerSettings{}.port);
}

TEST_F(LoadSettingsTest, EnvironmentValueOverriddenByAFlagIsNotParsed) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_PORT"] = "not-a-port";
  EXPECT_EQ(load({"--port", "9000"}).server.port, 9000);
}

// ---- Per-app settings of the app that the environment gives ----

// Each per-app setting that is one value, with its variable and a value other than the default.
struct AppOverride {
  const char* env;
  const char* value;
  std::string (*read)(const AppConfig&);
};

std::string text_of(bool value) {
  return value ? "true" : "false";
}

const AppOverride kAppOverrides[] = {
    {"GREENDOT_APP_ENABLED", "false", [](const AppConfig& a) { return text_of(a.enabled); }},
    {"GREENDOT_APP_CLIENT_EVENTS", "false",
     [](const AppConfig& a) { return text_of(a.client_events); }},
    {"GREENDOT_APP_CLIENT_EVENTS_PER_SECOND", "25",
     [](const AppConfig& a) { return std::to_string(a.client_events_per_second); }},
    {"GREENDOT_APP_MAX_PRESENCE_MEMBERS", "5000",
     [](const AppConfig& a) { return std::to_string(a.max_presence_members); }},
    {"GREENDOT_APP_MAX_USER_INFO_BYTES", "2048",
     [](const AppConfig& a) { return std::to_string(a.max_user_info_bytes); }},
    {"GREENDOT_APP_MAX_USER_ID_LENGTH", "64",
     [](const AppConfig& a) { return std::to_string(a.max_user_id_length); }},
    {"GREENDOT_APP_MAX_CONNECTIONS", "300",
     [](const AppConfig& a) { return std::to_string(a.max_connections); }},
    {"GREENDOT_APP_MAX_CHANNELS_PER_CONNECTION", "20",
     [](const AppConfig& a) { return std::to_string(a.max_channels_per_connection); }},
    {"GREENDOT_APP_OFFLINE_GRACE_MS", "1500",
     [](const AppConfig& a) { return std::to_string(a.offline_grace_ms); }},
    {"GREENDOT_APP_USER_AUTHENTICATION", "false",
     [](const AppConfig& a) { return text_of(a.user_authentication); }},
    {"GREENDOT_APP_MAX_WATCHLIST_SIZE", "7",
     [](const AppConfig& a) { return std::to_string(a.max_watchlist_size); }},
    {"GREENDOT_APP_MAX_EVENT_DATA_BYTES", "4096",
     [](const AppConfig& a) { return std::to_string(a.max_event_data_bytes); }},
    {"GREENDOT_APP_MAX_BATCH_EVENTS", "3",
     [](const AppConfig& a) { return std::to_string(a.max_batch_events); }},
    {"GREENDOT_APP_HEARTBEAT_TTL_MS", "45000",
     [](const AppConfig& a) { return std::to_string(a.heartbeat_ttl_ms); }},
    {"GREENDOT_APP_WEBHOOK_BATCH_MS", "0",
     [](const AppConfig& a) { return std::to_string(a.webhook_batch_ms); }},
    {"GREENDOT_APP_WEBHOOK_BATCH_MAX_EVENTS", "10",
     [](const AppConfig& a) { return std::to_string(a.webhook_batch_max_events); }},
    {"GREENDOT_APP_WEBHOOK_TIMEOUT_MS", "800",
     [](const AppConfig& a) { return std::to_string(a.webhook_timeout_ms); }},
    {"GREENDOT_APP_WEBHOOK_RETRY_SECONDS", "0",
     [](const AppConfig& a) { return std::to_string(a.webhook_retry_seconds); }},
    {"GREENDOT_APP_WEBHOOK_QUEUE_LIMIT", "50",
     [](const AppConfig& a) { return std::to_string(a.webhook_queue_limit); }},
};

TEST_F(LoadSettingsTest, EveryPerAppSettingCanComeFromTheEnvironment) {
  const AppConfig defaults;
  for (const AppOverride& o : kAppOverrides) {
    env_.clear();
    set_env_app("a", "k", "s");
    ASSERT_NE(o.read(defaults), o.value) << o.env << ": pick a value that is not the default";
    env_[o.env] = o.value;
    const Settings settings = load();
    ASSERT_EQ(settings.apps.size(), 1u);
    EXPECT_EQ(o.read(settings.apps[0]), o.value) << o.env;
  }
}

TEST_F(LoadSettingsTest, AllowedOriginsFromTheEnvironmentAreCommaSeparated) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_APP_ALLOWED_ORIGINS"] =
      "https://app.example, http://localhost:5173,http://[::1]:8080";
  EXPECT_EQ(load().apps[0].allowed_origins,
            (std::vector<std::string>{"https://app.example", "http://localhost:5173",
                                      "http://[::1]:8080"}));
  env_["GREENDOT_APP_ALLOWED_ORIGINS"] = "*";
  EXPECT_EQ(load().apps[0].allowed_origins, std::vector<std::string>{"*"});
}

TEST_F(LoadSettingsTest, PerAppEnvironmentSettingsWinForThatAppOnly) {
  const std::string config = write_config(R"(
[[apps]]
id = "dev-app"
key = "dev-key"
secret = "dev-secret"
max_presence_members = 7
allowed_origins = ["https://file.example"]

[[apps]]
id = "other"
key = "other-key"
secret = "other-secret"
)");
  set_env_app("dev-app", "dev-key", "dev-secret");
  env_["GREENDOT_APP_MAX_PRESENCE_MEMBERS"] = "70";
  env_["GREENDOT_APP_ALLOWED_ORIGINS"] = "https://env.example";
  env_["GREENDOT_OFFLINE_GRACE_MS"] = "250";    // every app...
  env_["GREENDOT_APP_OFFLINE_GRACE_MS"] = "0";  // ...but this one
  const Settings settings = load({"--config", config});
  ASSERT_EQ(settings.apps.size(), 2u);
  EXPECT_EQ(settings.apps[0].max_presence_members, 70u);
  EXPECT_EQ(settings.apps[0].allowed_origins, std::vector<std::string>{"https://env.example"});
  EXPECT_EQ(settings.apps[0].offline_grace_ms, 0u);
  EXPECT_EQ(settings.apps[1].max_presence_members, AppConfig{}.max_presence_members);
  EXPECT_TRUE(settings.apps[1].allowed_origins.empty());
  EXPECT_EQ(settings.apps[1].offline_grace_ms, 250u);
}

TEST_F(LoadSettingsTest, BadPerAppEnvironmentValuesSayWhichVariableAndWhy) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_APP_MAX_PRESENCE_MEMBERS"] = "0";
  EXPECT_EQ(error(), "GREENDOT_APP_MAX_PRESENCE_MEMBERS: must be a positive integer, got 0");
  env_["GREENDOT_APP_MAX_PRESENCE_MEMBERS"] = "many";
  EXPECT_EQ(error(), "GREENDOT_APP_MAX_PRESENCE_MEMBERS: must be an integer, got \"many\"");
  env_.erase("GREENDOT_APP_MAX_PRESENCE_MEMBERS");

  env_["GREENDOT_APP_CLIENT_EVENTS"] = "yes";
  EXPECT_EQ(error(), "GREENDOT_APP_CLIENT_EVENTS: must be true or false, got \"yes\"");
  env_.erase("GREENDOT_APP_CLIENT_EVENTS");

  env_["GREENDOT_APP_ALLOWED_ORIGINS"] = "https://a.example/app";
  EXPECT_EQ(error(),
            "GREENDOT_APP_ALLOWED_ORIGINS: must be \"*\" or an origin like "
            "\"https://example.com\" (no path), got \"https://a.example/app\"");
  env_["GREENDOT_APP_ALLOWED_ORIGINS"] = "https://a.example,,https://b.example";
  EXPECT_EQ(error(),
            "GREENDOT_APP_ALLOWED_ORIGINS: has an empty origin between commas, got "
            "\"https://a.example,,https://b.example\"");
}

TEST_F(LoadSettingsTest, PerAppEnvironmentSettingWithoutAnEnvironmentAppIsAnError) {
  env_["GREENDOT_APP_MAX_PRESENCE_MEMBERS"] = "70";
  EXPECT_EQ(file_error(kOneApp),
            "GREENDOT_APP_MAX_PRESENCE_MEMBERS sets the app given by GREENDOT_APP_ID, "
            "GREENDOT_APP_KEY and GREENDOT_APP_SECRET (or --app-id, --app-key and --app-secret), "
            "which are not set");
  EXPECT_EQ(load({"--config", write_config(kOneApp), "--app-id", "dev-app", "--app-key", "k",
                  "--app-secret", "s"})
                .apps[0]
                .max_presence_members,
            70u);
}

// ---- The file: unreadable, malformed, unknown keys, wrong types ----

TEST_F(LoadSettingsTest, MissingFileIsAnError) {
  const std::string path = (dir_.path() / "missing.toml").string();
  EXPECT_EQ(error({"--config", path}),
            path + ": cannot read config file: No such file or directory");
}

TEST_F(LoadSettingsTest, DirectoryIsNotAConfigFile) {
  EXPECT_EQ(error({"--config", dir_.path().string()}),
            dir_.path().string() + ": cannot read config file: Is a directory");
}

TEST_F(LoadSettingsTest, EmptyConfigFlagIsAnError) {
  EXPECT_EQ(error({"--config", ""}), "--config: must not be empty");
}

TEST_F(LoadSettingsTest, SyntaxErrorNamesLineAndColumn) {
  const std::string path = write_config("[server]\nport = 6001\nhost = \n");
  const std::string message = error({"--config", path});
  EXPECT_EQ(message.rfind(path + ":3:", 0), 0u) << message;
  EXPECT_NE(message.find("invalid TOML: "), std::string::npos) << message;
}

TEST_F(LoadSettingsTest, UnknownKeysAreNamedWithTheirTable) {
  EXPECT_EQ(file_error(std::string("[sever]\nport = 1\n") + kOneApp),
            "sever: unknown key; expected server, web, engine, app_defaults or apps");
  EXPECT_EQ(file_error(std::string("[server]\nprot = 1\n") + kOneApp),
            "server.prot: unknown key; expected host, port, threads, activity_timeout, "
            "pong_timeout, max_message_bytes, max_outbound_bytes, max_http_request_bytes, "
            "http_timeout_ms, max_connections_total, max_connections_per_ip, log_level or "
            "data_dir");
  EXPECT_EQ(file_error(std::string(kOneApp) + "[[apps]]\nid = \"b\"\nkey = \"kb\"\nsecrt = \"x\"\n")
                .substr(0, 36),
            "apps[1].secrt: unknown key; expected");
  EXPECT_EQ(file_error(std::string("[app_defaults]\nsecret = \"x\"\n") + kOneApp).substr(0, 42),
            "app_defaults.secret: unknown key; expected");
}

TEST_F(LoadSettingsTest, WrongTypesAreNamed) {
  EXPECT_EQ(file_error(std::string("[server]\nport = \"6001\"\n") + kOneApp),
            "server.port: must be an integer, got a string");
  EXPECT_EQ(file_error(std::string("[server]\nport = 6001.0\n") + kOneApp),
            "server.port: must be an integer, got a floating-point number");
  EXPECT_EQ(file_error(std::string("[server]\nhost = 1\n") + kOneApp),
            "server.host: must be a string, got an integer");
  EXPECT_EQ(file_error(std::string("server = 1\n") + kOneApp),
            "server: must be a table, got an integer");
  EXPECT_EQ(file_error(std::string(kOneApp) + "enabled = \"yes\"\n"),
            "apps[0].enabled: must be a boolean, got a string");
  EXPECT_EQ(file_error("[[apps]]\nid = 5\nkey = \"k\"\nsecret = \"s\"\n"),
            "apps[0].id: must be a string, got an integer");
  EXPECT_EQ(file_error("[apps]\nid = \"a\"\n"),
            "apps: must be an array of tables ([[apps]]), got a table");
  EXPECT_EQ(file_error("apps = [1]\n"), "apps[0]: must be a table, got an integer");
}

// ---- Ranges ----

TEST_F(LoadSettingsTest, OutOfRangeNumbersInTheFileAreNamed) {
  const auto server_error = [&](const std::string& line) {
    return file_error("[server]\n" + line + "\n" + kOneApp);
  };
  EXPECT_EQ(server_error("port = 70000"), "server.port: must be between 0 and 65535, got 70000");
  EXPECT_EQ(server_error("port = -1"), "server.port: must be between 0 and 65535, got -1");
  EXPECT_EQ(server_error("threads = -2"), "server.threads: must be between 0 and 1024, got -2");
  EXPECT_EQ(server_error("activity_timeout = 0"),
            "server.activity_timeout: must be a positive integer, got 0");
  EXPECT_EQ(server_error("activity_timeout = 3601"),
            "server.activity_timeout: must be between 1 and 3600, got 3601");
  EXPECT_EQ(server_error("pong_timeout = 601"),
            "server.pong_timeout: must be between 1 and 600, got 601");
  EXPECT_EQ(server_error("max_message_bytes = 127"),
            "server.max_message_bytes: must be between 128 and 16777216, got 127");
  EXPECT_EQ(server_error("max_outbound_bytes = 10"),
            "server.max_outbound_bytes: must be between 1024 and 1073741824, got 10");
  EXPECT_EQ(server_error("max_http_request_bytes = 99999999999"),
            "server.max_http_request_bytes: must be between 1024 and 67108864, got 99999999999");

  const auto app_error = [&](const std::string& line) {
    return file_error(std::string(kOneApp) + line + "\n");
  };
  EXPECT_EQ(app_error("client_events_per_second = 0"),
            "apps[0].client_events_per_second: must be a positive integer, got 0");
  EXPECT_EQ(app_error("max_connections = -1"),
            "apps[0].max_connections: must be between 0 and 4294967295, got -1");
  EXPECT_EQ(app_error("offline_grace_ms = 3600001"),
            "apps[0].offline_grace_ms: must be between 0 and 3600000, got 3600001");
  EXPECT_EQ(file_error(std::string("[app_defaults]\nmax_presence_members = 0\n") + kOneApp),
            "app_defaults.max_presence_members: must be a positive integer, got 0");
}

TEST_F(LoadSettingsTest, LogLevelMustBeKnown) {
  const std::string expected =
      ": must be one of trace, debug, info, warn, error, off, got \"verbose\"";
  EXPECT_EQ(file_error(std::string("[server]\nlog_level = \"verbose\"\n") + kOneApp),
            "server.log_level" + expected);
  set_env_app("a", "k", "s");
  EXPECT_EQ(error({"--log-level", "verbose"}), "--log-level" + expected);
  env_["GREENDOT_LOG_LEVEL"] = "verbose";
  EXPECT_EQ(error(), "GREENDOT_LOG_LEVEL" + expected);
}

TEST_F(LoadSettingsTest, EmptyHostIsAnError) {
  EXPECT_EQ(file_error(std::string("[server]\nhost = \"\"\n") + kOneApp),
            "server.host: must not be empty");
}

// ---- App identity ----

TEST_F(LoadSettingsTest, IdKeyAndSecretMustBePresentAndNonEmpty) {
  const auto app = [](const std::string& body) { return "[[apps]]\n" + body; };
  EXPECT_EQ(file_error(app("id = \"\"\nkey = \"k\"\nsecret = \"s\"\n")),
            "apps[0].id: must not be empty");
  EXPECT_EQ(file_error(app("id = \"a\"\nkey = \"\"\nsecret = \"s\"\n")),
            "apps[0].key: must not be empty");
  EXPECT_EQ(file_error(std::string(kOneApp) + app("id = \"b\"\nkey = \"kb\"\nsecret = \"\"\n")),
            "apps[1].secret: must not be empty");
  EXPECT_EQ(file_error(app("id = \"a\"\nkey = \"k\"\n")), "apps[0].secret: is required");
  EXPECT_EQ(file_error(app("key = \"k\"\nsecret = \"s\"\n")), "apps[0].id: is required");
}

TEST_F(LoadSettingsTest, IdAndKeyMustBeUrlSafe) {
  EXPECT_EQ(file_error("[[apps]]\nid = \"my app\"\nkey = \"k\"\nsecret = \"s\"\n"),
            "apps[0].id: must contain only letters, digits, '_', '.' and '-', got \"my app\"");
  EXPECT_EQ(file_error("[[apps]]\nid = \"a\"\nkey = \"k/1\"\nsecret = \"s\"\n"),
            "apps[0].key: must contain only letters, digits, '_', '.' and '-', got \"k/1\"");
  set_env_app("a?", "k", "s");
  EXPECT_EQ(error(),
            "GREENDOT_APP_ID: must contain only letters, digits, '_', '.' and '-', got \"a?\"");
  EXPECT_EQ(error({"--app-id", "a", "--app-key", "k", "--app-secret", ""}),
            "--app-secret: must not be empty");
}

TEST_F(LoadSettingsTest, SecretMayContainAnyCharacter) {
  set_env_app("a", "k", "s p/a+c=e!");
  EXPECT_EQ(load().apps[0].secret, "s p/a+c=e!");
}

TEST_F(LoadSettingsTest, DuplicateIdsAndKeysAreErrors) {
  EXPECT_EQ(file_error(std::string(kOneApp) +
                       "[[apps]]\nid = \"dev-app\"\nkey = \"other\"\nsecret = \"s\"\n"),
            "apps[1].id: duplicate app id \"dev-app\", already used by apps[0]");
  EXPECT_EQ(file_error(std::string(kOneApp) +
                       "[[apps]]\nid = \"other\"\nkey = \"dev-key\"\nsecret = \"s\"\n"),
            "apps[1].key: duplicate app key \"dev-key\", already used by apps[0]");
  set_env_app("env-app", "dev-key", "s");
  EXPECT_EQ(error({"--config", write_config(kOneApp)}),
            "apps[1].key: duplicate app key \"dev-key\", already used by apps[0]");
}

TEST_F(LoadSettingsTest, PartialAppInTheEnvironmentNamesWhatIsMissing) {
  env_["GREENDOT_APP_ID"] = "a";
  EXPECT_EQ(error(),
            "missing GREENDOT_APP_KEY and GREENDOT_APP_SECRET: an app needs GREENDOT_APP_ID, "
            "GREENDOT_APP_KEY and GREENDOT_APP_SECRET together");
  env_["GREENDOT_APP_KEY"] = "k";
  env_["GREENDOT_APP_SECRET"] = "";
  EXPECT_EQ(error(),
            "missing GREENDOT_APP_SECRET: an app needs GREENDOT_APP_ID, GREENDOT_APP_KEY and "
            "GREENDOT_APP_SECRET together");
}

TEST_F(LoadSettingsTest, PartialAppOnTheCommandLineNamesWhatIsMissing) {
  EXPECT_EQ(error({"--app-key", "k"}),
            "missing --app-id and --app-secret: an app needs --app-id, --app-key and "
            "--app-secret together");
}

TEST_F(LoadSettingsTest, NoAppIsAnError) {
  EXPECT_EQ(error(),
            "no app configured: give --config FILE or GREENDOT_APP_ID, GREENDOT_APP_KEY and "
            "GREENDOT_APP_SECRET");
  const std::string path = write_config("[server]\nport = 1\n");
  EXPECT_EQ(error({"--config", path}),
            "no app configured: " + path +
                " has no [[apps]] entry; add one or give GREENDOT_APP_ID, GREENDOT_APP_KEY and "
                "GREENDOT_APP_SECRET");
}

// ---- Environment and flag values ----

TEST_F(LoadSettingsTest, EnvironmentNumbersMustBeNumbers) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_PORT"] = "http";
  EXPECT_EQ(error(), "GREENDOT_PORT: must be an integer, got \"http\"");
  env_["GREENDOT_PORT"] = "80x";
  EXPECT_EQ(error(), "GREENDOT_PORT: must be an integer, got \"80x\"");
  env_["GREENDOT_PORT"] = " 80";
  EXPECT_EQ(error(), "GREENDOT_PORT: must be an integer, got \" 80\"");
  env_["GREENDOT_PORT"] = "80";
  env_["GREENDOT_OFFLINE_GRACE_MS"] = "1.5";
  EXPECT_EQ(error(), "GREENDOT_OFFLINE_GRACE_MS: must be an integer, got \"1.5\"");
}

TEST_F(LoadSettingsTest, EnvironmentAndFlagNumbersMustBeInRange) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_PORT"] = "99999999999999999999999";
  EXPECT_EQ(error(), "GREENDOT_PORT: must be between 0 and 65535, got 99999999999999999999999");
  env_.erase("GREENDOT_PORT");
  env_["GREENDOT_PONG_TIMEOUT"] = "0";
  EXPECT_EQ(error(), "GREENDOT_PONG_TIMEOUT: must be a positive integer, got 0");
  env_.erase("GREENDOT_PONG_TIMEOUT");
  EXPECT_EQ(error({"--activity-timeout", "-5"}),
            "--activity-timeout: must be a positive integer, got -5");
  EXPECT_EQ(error({"--max-message-bytes", "100000000"}),
            "--max-message-bytes: must be between 128 and 16777216, got 100000000");
  EXPECT_EQ(error({"--offline-grace-ms", "x"}),
            "--offline-grace-ms: must be an integer, got \"x\"");
}

TEST_F(LoadSettingsTest, BadCommandLinesAreConfigErrors) {
  set_env_app("a", "k", "s");
  EXPECT_EQ(error({"--prot", "1"}).rfind("The following arguments were not expected", 0), 0u);
  EXPECT_EQ(error({"--port"}), "--port: 1 required PORT missing (see --help)");
  EXPECT_EQ(error({"--port", "1", "--port", "2"}).rfind("--port:", 0), 0u);
}

// ---- Webhooks ----

TEST_F(LoadSettingsTest, WebhookDefaults) {
  const AppConfig app = load_file(kOneApp).apps.at(0);
  EXPECT_TRUE(app.webhooks.empty());
  EXPECT_EQ(app.webhook_batch_ms, 50u);
  EXPECT_EQ(app.webhook_batch_max_events, 100u);
  EXPECT_EQ(app.webhook_timeout_ms, 5000u);
  EXPECT_EQ(app.webhook_retry_seconds, 300u);
  EXPECT_EQ(app.webhook_queue_limit, 10000u);
}

TEST_F(LoadSettingsTest, ReadsWebhookTargetsAndSettings) {
  const Settings settings = load_file(std::string(kOneApp) + R"(
webhook_batch_ms = 0
webhook_batch_max_events = 10
webhook_timeout_ms = 2000
webhook_retry_seconds = 60
webhook_queue_limit = 500

[[apps.webhooks]]
url = "http://127.0.0.1:9000/hooks?app=dev"
event_types = ["member_added", "member_removed"]

[[apps.webhooks]]
url = "http://audit.internal/all"

[[apps]]
id = "second"
key = "second-key"
secret = "second-secret"
)");
  ASSERT_EQ(settings.apps.size(), 2u);
  const AppConfig& app = settings.apps[0];
  EXPECT_EQ(app.webhook_batch_ms, 0u);
  EXPECT_EQ(app.webhook_batch_max_events, 10u);
  EXPECT_EQ(app.webhook_timeout_ms, 2000u);
  EXPECT_EQ(app.webhook_retry_seconds, 60u);
  EXPECT_EQ(app.webhook_queue_limit, 500u);
  ASSERT_EQ(app.webhooks.size(), 2u);
  EXPECT_EQ(app.webhooks[0].url, "http://127.0.0.1:9000/hooks?app=dev");
  EXPECT_EQ(app.webhooks[0].event_types,
            (std::vector<std::string>{"member_added", "member_removed"}));
  EXPECT_EQ(app.webhooks[1].url, "http://audit.internal/all");
  // Omitted: every type.
  EXPECT_EQ(app.webhooks[1].event_types,
            (std::vector<std::string>{"channel_occupied", "channel_vacated", "member_added",
                                      "member_removed", "client_event"}));
  // [[apps.webhooks]] belongs to the [[apps]] entry above it only.
  EXPECT_TRUE(settings.apps[1].webhooks.empty());
  EXPECT_EQ(settings.apps[1].webhook_queue_limit, 10000u);
}

TEST_F(LoadSettingsTest, WebhookSettingsMayComeFromAppDefaults) {
  const Settings settings = load_file(std::string(R"(
[app_defaults]
webhook_batch_ms = 200
webhook_retry_seconds = 30
)") + kOneApp + "webhook_batch_ms = 10\n");
  EXPECT_EQ(settings.apps[0].webhook_batch_ms, 10u);
  EXPECT_EQ(settings.apps[0].webhook_retry_seconds, 30u);
  // Targets are per app: [app_defaults] has no webhooks key.
  EXPECT_EQ(file_error(std::string("[[app_defaults.webhooks]]\nurl = \"http://h/\"\n") + kOneApp)
                .substr(0, 44),
            "app_defaults.webhooks: unknown key; expected");
}

TEST_F(LoadSettingsTest, HttpsWebhooksAreRejectedWithAClearMessage) {
  EXPECT_EQ(file_error(std::string(kOneApp) + "[[apps.webhooks]]\nurl = \"https://h/x\"\n"),
            "apps[0].webhooks[0].url: https webhooks are not supported yet; put a local proxy in "
            "front, got \"https://h/x\"");
}

TEST_F(LoadSettingsTest, BadWebhookUrlsAreNamed) {
  const auto url_error = [&](const std::string& url) {
    return file_error(std::string(kOneApp) + "[[apps.webhooks]]\nurl = \"" + url + "\"\n");
  };
  EXPECT_EQ(url_error("http:///hook"),
            "apps[0].webhooks[0].url: must have a host, got \"http:///hook\"");
  EXPECT_EQ(url_error("ws://h/"),
            "apps[0].webhooks[0].url: must be an http:// URL, got scheme \"ws\", got \"ws://h/\"");
  EXPECT_EQ(url_error("not a url").rfind("apps[0].webhooks[0].url: is not a valid absolute URL", 0),
            0u);
  EXPECT_EQ(url_error("http://h:99999/"),
            "apps[0].webhooks[0].url: port must be between 1 and 65535, got \"99999\", got "
            "\"http://h:99999/\"");
}

TEST_F(LoadSettingsTest, WebhookTargetNeedsAUrl) {
  EXPECT_EQ(
      file_error(std::string(kOneApp) + "[[apps.webhooks]]\nevent_types = [\"member_added\"]\n"),
      "apps[0].webhooks[0].url: is required");
}

TEST_F(LoadSettingsTest, UnknownWebhookEventTypeIsNamedWithTheValidOnes) {
  EXPECT_EQ(
      file_error(std::string(kOneApp) + "[[apps.webhooks]]\nurl = \"http://h/\"\n"
                                        "event_types = [\"member_added\", \"member_joined\"]\n"),
      "apps[0].webhooks[0].event_types[1]: unknown event type \"member_joined\"; valid ones "
      "are channel_occupied, channel_vacated, member_added, member_removed, client_event");
  EXPECT_EQ(file_error(std::string(kOneApp) +
                       "[[apps.webhooks]]\nurl = \"http://h/\"\nevent_types = [\"x\", 3]\n")
                .substr(0, 59),
            "apps[0].webhooks[0].event_types[0]: unknown event type \"x\";");
  EXPECT_EQ(
      file_error(std::string(kOneApp) +
                 "[[apps.webhooks]]\nurl = \"http://h/\"\nevent_types = [\"member_added\", 3]\n"),
      "apps[0].webhooks[0].event_types[1]: must be a string, got an integer");
  EXPECT_EQ(file_error(std::string(kOneApp) +
                       "[[apps.webhooks]]\nurl = \"http://h/\"\nevent_types = []\n"),
            "apps[0].webhooks[0].event_types: must name at least one event type (omit it for "
            "all)");
  EXPECT_EQ(file_error(std::string(kOneApp) +
                       "[[apps.webhooks]]\nurl = \"http://h/\"\nevent_types = \"member_added\"\n"),
            "apps[0].webhooks[0].event_types: must be an array, got a string");
}

TEST_F(LoadSettingsTest, WebhookTablesRejectUnknownKeysAndWrongShapes) {
  EXPECT_EQ(
      file_error(std::string(kOneApp) + "[[apps.webhooks]]\nurl = \"http://h/\"\nevnts = 1\n"),
      "apps[0].webhooks[0].evnts: unknown key; expected url or event_types");
  EXPECT_EQ(file_error(std::string(kOneApp) + "webhooks = \"http://h/\"\n"),
            "apps[0].webhooks: must be an array of tables ([[apps.webhooks]]), got a string");
  EXPECT_EQ(file_error(std::string(kOneApp) + "webhooks = [\"http://h/\"]\n"),
            "apps[0].webhooks[0]: must be a table, got a string");
}

TEST_F(LoadSettingsTest, WebhookNumbersAreRangeChecked) {
  const auto app_error = [&](const std::string& line) {
    return file_error(std::string(kOneApp) + line + "\n");
  };
  EXPECT_EQ(app_error("webhook_batch_ms = 60001"),
            "apps[0].webhook_batch_ms: must be between 0 and 60000, got 60001");
  EXPECT_EQ(app_error("webhook_batch_max_events = 0"),
            "apps[0].webhook_batch_max_events: must be a positive integer, got 0");
  EXPECT_EQ(app_error("webhook_timeout_ms = 99"),
            "apps[0].webhook_timeout_ms: must be between 100 and 300000, got 99");
  EXPECT_EQ(app_error("webhook_retry_seconds = -1"),
            "apps[0].webhook_retry_seconds: must be between 0 and 86400, got -1");
  EXPECT_EQ(app_error("webhook_queue_limit = 0"),
            "apps[0].webhook_queue_limit: must be a positive integer, got 0");
  EXPECT_EQ(file_error(std::string("[app_defaults]\nwebhook_timeout_ms = 0\n") + kOneApp),
            "app_defaults.webhook_timeout_ms: must be between 100 and 300000, got 0");
}

// ---- --help and --version ----

TEST_F(LoadSettingsTest, HelpListsFlagsAndEnvironmentVariables) {
  env_["GREENDOT_PORT"] = "broken";  // --help must work whatever else is wrong
  for (const char* flag : {"--help", "-h"}) {
    const CommandLineExit exit = exit_of({flag});
    EXPECT_EQ(exit.code, 0);
    EXPECT_NE(exit.text.find("--app-secret SECRET"), std::string::npos) << exit.text;
    EXPECT_NE(exit.text.find("[GREENDOT_OFFLINE_GRACE_MS]"), std::string::npos) << exit.text;
  }
}

TEST_F(LoadSettingsTest, VersionPrintsTheVersion) {
  const CommandLineExit exit = exit_of({"--version"});
  EXPECT_EQ(exit.code, 0);
  EXPECT_EQ(exit.text, "greendot 0.1.0\n");
}

}  // namespace
}  // namespace greendot::config

namespace greendot::config {
namespace {

TEST_F(LoadSettingsTest, LimitsThatContradictEachOtherAreNamed) {
  const std::string message = file_error(
      "[server]\nmax_outbound_bytes = 4096\n" + std::string(kOneApp) +
      "max_user_info_bytes = 4000\nmax_event_data_bytes = 100\nmax_watchlist_size = 0\n");
  // Every contradiction at once, one a line: here the client events of the default
  // max_message_bytes (10240) and member_added with that much user_info.
  EXPECT_EQ(message,
            "server.max_outbound_bytes (4096) cannot hold a client event of "
            "server.max_message_bytes (10240), which takes up to 22100 bytes: raise "
            "server.max_outbound_bytes to 22100 or lower server.max_message_bytes\n"
            "server.max_outbound_bytes (4096) cannot hold member_added with "
            "apps[0].max_user_info_bytes (4000) of user_info, which takes up to 8612 bytes: "
            "raise server.max_outbound_bytes to 8612 or lower apps[0].max_user_info_bytes");
}

TEST_F(LoadSettingsTest, TheDefaultLimitsAgree) {
  EXPECT_TRUE(contradicting_limits(load({"--config", write_config(kOneApp)})).empty());
  // The largest REST event, escaped, fits the default outbound queue.
  Settings settings = load({"--config", write_config(kOneApp)});
  settings.apps[0].max_event_data_bytes = 200'000;
  const auto problems = contradicting_limits(settings);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("apps[0].max_event_data_bytes (200000)"), std::string::npos)
      << problems[0];
}

// ---- [engine] ----

TEST_F(LoadSettingsTest, TheEmbeddedEngineUnlessRedisIsAskedFor) {
  set_env_app("a", "k", "s");
  EXPECT_EQ(load().engine.kind, EngineKind::Embedded);
  const Settings file = load_file(std::string(R"([engine]
kind = "redis"
redis_url = "redis://user:pw@10.0.0.5:6380/2"
key_prefix = "site-a:"
node_lease_ms = 5000
redis_ca_file = "/etc/ssl/redis-ca.pem"
)") + kOneApp);
  EXPECT_EQ(file.engine.kind, EngineKind::Redis);
  EXPECT_EQ(file.engine.redis_url, "redis://user:pw@10.0.0.5:6380/2");
  EXPECT_EQ(file.engine.key_prefix, "site-a:");
  EXPECT_EQ(file.engine.node_lease_ms, 5000u);
  EXPECT_EQ(file.engine.redis_ca_file, "/etc/ssl/redis-ca.pem");
}

TEST_F(LoadSettingsTest, TheEngineFromEnvironmentAndFlags) {
  set_env_app("a", "k", "s");
  env_["GREENDOT_ENGINE"] = "redis";
  env_["GREENDOT_REDIS_URL"] = "redis://a:7000,redis://b:7001";
  const Settings settings = load({"--node-lease-ms", "3000", "--redis-key-prefix", "x:"});
  EXPECT_EQ(settings.engine.kind, EngineKind::Redis);
  EXPECT_EQ(settings.engine.redis_url, "redis://a:7000,redis://b:7001");
  EXPECT_EQ(settings.engine.node_lease_ms, 3000u);
  EXPECT_EQ(settings.engine.key_prefix, "x:");
}

TEST_F(LoadSettingsTest, BadEngineValuesAreNamed) {
  EXPECT_EQ(file_error(std::string("[engine]\nkind = \"memcached\"\n") + kOneApp),
            "engine.kind: must be \"embedded\" or \"redis\", got \"memcached\"");
  EXPECT_NE(file_error(std::string("[engine]\nredis_url = \"http://x\"\n") + kOneApp)
                .find("engine.redis_url: URL 1: "),
            std::string::npos);
  const std::string second_bad =
      file_error(std::string("[engine]\nredis_url = \"redis://a,redis://:secret@\"\n") + kOneApp);
  EXPECT_NE(second_bad.find("engine.redis_url: URL 2: "), std::string::npos) << second_bad;
  EXPECT_EQ(second_bad.find("secret"), std::string::npos) << "a password is never repeated";
  EXPECT_EQ(file_error(std::string("[engine]\nkey_prefix = \"a{b}\"\n") + kOneApp),
            "engine.key_prefix: must not contain '{', '}' or spaces, got \"a{b}\"");
  EXPECT_NE(file_error(std::string("[engine]\nnode_lease_ms = 500\n") + kOneApp)
                .find("engine.node_lease_ms"),
            std::string::npos);
  EXPECT_NE(
      file_error(std::string("[engine]\nleese = 1\n") + kOneApp).find("engine.leese: unknown key"),
      std::string::npos);
  set_env_app("a", "k", "s");
  env_["GREENDOT_ENGINE"] = "disk";
  EXPECT_NE(error().find("GREENDOT_ENGINE"), std::string::npos) << error();
}

}  // namespace
}  // namespace greendot::config
