#include "storage/privacy_names.hpp"

namespace greendot::storage {

const char* visibility_name(Visibility visibility) {
  return visibility == Visibility::Nobody ? "nobody" : "everyone";
}

const char* last_seen_name(LastSeenPrivacy privacy) {
  switch (privacy) {
    case LastSeenPrivacy::Approximate:
      return "approximate";
    case LastSeenPrivacy::Hidden:
      return "hidden";
    case LastSeenPrivacy::Exact:
      break;
  }
  return "exact";
}

std::optional<Visibility> visibility_named(std::string_view name) {
  if (name == "everyone") return Visibility::Everyone;
  if (name == "nobody") return Visibility::Nobody;
  return std::nullopt;
}

std::optional<LastSeenPrivacy> last_seen_named(std::string_view name) {
  if (name == "exact") return LastSeenPrivacy::Exact;
  if (name == "approximate") return LastSeenPrivacy::Approximate;
  if (name == "hidden") return LastSeenPrivacy::Hidden;
  return std::nullopt;
}

}  // namespace greendot::storage
