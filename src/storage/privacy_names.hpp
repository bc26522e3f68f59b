// The names of privacy settings, as the REST API speaks them and the Redis engine stores them:
// "everyone" / "nobody", "exact" / "approximate" / "hidden".
#pragma once

#include <optional>
#include <string_view>

#include "storage/user_store.hpp"

namespace greendot::storage {

const char* visibility_name(Visibility visibility);
const char* last_seen_name(LastSeenPrivacy privacy);
// Nothing for a name that is none of them.
std::optional<Visibility> visibility_named(std::string_view name);
std::optional<LastSeenPrivacy> last_seen_named(std::string_view name);

}  // namespace greendot::storage
