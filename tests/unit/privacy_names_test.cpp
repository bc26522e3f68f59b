// Privacy names: each setting's name reads back as the same setting, and anything else is no
// setting at all (the REST API answers it 400; the Redis engine reads a missing field as the
// default).
#include <gtest/gtest.h>

#include "storage/privacy_names.hpp"

namespace greendot::storage {
namespace {

TEST(PrivacyNames, EveryNameReadsBackAsItsSetting) {
  for (auto v : {Visibility::Everyone, Visibility::Nobody}) {
    EXPECT_EQ(visibility_named(visibility_name(v)), v);
  }
  for (auto p : {LastSeenPrivacy::Exact, LastSeenPrivacy::Approximate, LastSeenPrivacy::Hidden}) {
    EXPECT_EQ(last_seen_named(last_seen_name(p)), p);
  }
}

TEST(PrivacyNames, OtherTextIsNoSetting) {
  for (std::string_view bad : {"", "Nobody", "friends", "everyone ", "exact"}) {
    EXPECT_FALSE(visibility_named(bad).has_value()) << bad;
  }
  for (std::string_view bad : {"", "Hidden", "fuzzy", "nobody"}) {
    EXPECT_FALSE(last_seen_named(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace greendot::storage
