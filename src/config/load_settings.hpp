// Builds Settings from a TOML file, the environment and the command line, and rejects anything
// suspicious up front, so that a typo stops the server at start instead of quietly changing how
// it behaves.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/settings.hpp"

namespace greendot::config {

// A setting that is missing, malformed or out of range. The message starts with the TOML key,
// environment variable or flag at fault, e.g. "server.port: must be between 0 and 65535, got
// 70000".
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown for --help and --version: print `text` (which ends in a newline) to stdout and exit
// with `code`.
struct CommandLineExit {
  int code;
  std::string text;
};

// Looks up one environment variable; passed in so that tests never depend on the real
// environment.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads the TOML file named by --config or GREENDOT_CONFIG, then the GREENDOT_* environment
// variables, then the flags (each overriding the one before), and validates the result.
// Empty environment variables count as unset. Throws ConfigError or CommandLineExit.
Settings load_settings(int argc, const char* const* argv, const EnvironmentLookup& env);

}  // namespace greendot::config
