#include "auth/app_signature.hpp"

#include <chrono>

namespace greendot::auth {

std::optional<std::string> app_signature_problem(std::string_view method, std::string_view path,
                                                 const protocol::QueryParams& query,
                                                 std::string_view body,
                                                 const config::AppConfig& app) {
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto result =
      protocol::verify_rest_request(method, path, query, body, app.key, app.secret, now_s);
  if (result.ok) return std::nullopt;
  return std::move(result.problem);
}

}  // namespace greendot::auth
