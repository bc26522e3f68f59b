// greendot: a presence server speaking the Pusher Channels protocol.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "config/load_settings.hpp"
#include "server/server.hpp"

namespace {

std::optional<std::string> environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace greendot;
  config::Settings settings;
  try {
    settings = config::load_settings(argc, argv, environment);
  } catch (const config::CommandLineExit& exit) {
    std::cout << exit.text;
    return exit.code;
  } catch (const config::ConfigError& error) {
    std::cerr << "greendot: configuration error: " << error.what() << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(settings.server.log_level));
  try {
    server::Server server(std::move(settings));
    server.bind();
    return server.run();
  } catch (const std::exception& error) {
    spdlog::critical("{}", error.what());
    return 1;
  }
}
