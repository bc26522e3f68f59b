// The [web] section: the demo and the dashboard are off unless configured, and a half-given
// configuration stops the server at start instead of opening something by accident.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/load_settings.hpp"

namespace greendot::config {
namespace {

constexpr const char* kApp =
    "[[apps]]\nid = \"dev-app\"\nkey = \"dev-key\"\nsecret = \"dev-secret\"\n";

// Loads `contents` as the config file; the ConfigError's message when it is refused.
struct Loaded {
  Settings settings;
  std::string error;
};

Loaded load(const std::string& contents) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("greendot-web-settings-" + std::to_string(getpid()) + ".toml");
  std::ofstream(path) << contents;
  const std::string file = path.string();
  const char* argv[] = {"greendot", "--config", file.c_str()};
  Loaded loaded;
  try {
    loaded.settings = load_settings(3, argv, [](const std::string&) { return std::nullopt; });
  } catch (const ConfigError& e) {
    loaded.error = e.what();
  }
  std::filesystem::remove(path);
  return loaded;
}

TEST(WebSettings, OffByDefault) {
  const auto loaded = load(kApp);
  ASSERT_EQ(loaded.error, "");
  EXPECT_EQ(loaded.settings.server.web.demo_app, "");
  EXPECT_EQ(loaded.settings.server.web.dashboard_user, "");
  EXPECT_EQ(loaded.settings.server.web.dashboard_password, "");
}

TEST(WebSettings, ReadsTheDemoAppAndTheOperators) {
  const auto loaded = load(std::string(kApp) +
                           "[web]\ndemo_app = \"dev-app\"\ndashboard_user = \"ops\"\n"
                           "dashboard_password = \"s3cret\"\n");
  ASSERT_EQ(loaded.error, "");
  EXPECT_EQ(loaded.settings.server.web.demo_app, "dev-app");
  EXPECT_EQ(loaded.settings.server.web.dashboard_user, "ops");
  EXPECT_EQ(loaded.settings.server.web.dashboard_password, "s3cret");
}

TEST(WebSettings, TheDemoAppMustExist) {
  EXPECT_EQ(load(std::string(kApp) + "[web]\ndemo_app = \"nope\"\n").error,
            "web.demo_app: no app has the id \"nope\"");
}

TEST(WebSettings, AUserWithoutPasswordIsRefused) {
  EXPECT_EQ(load(std::string(kApp) + "[web]\ndashboard_user = \"ops\"\n").error,
            "web.dashboard_password: give both web.dashboard_user and web.dashboard_password, "
            "or neither");
  EXPECT_EQ(load(std::string(kApp) + "[web]\ndashboard_password = \"x\"\n").error,
            "web.dashboard_password: give both web.dashboard_user and web.dashboard_password, "
            "or neither");
}

TEST(WebSettings, UnknownKeysAreNamed) {
  EXPECT_EQ(load(std::string(kApp) + "[web]\ndemo = true\n").error,
            "web.demo: unknown key; expected demo_app, dashboard_user or dashboard_password");
}

}  // namespace
}  // namespace greendot::config
