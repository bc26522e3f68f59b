// One app's invisible users as a node knows them: loaded from the app's set in Redis, and kept
// from the app's privacy channel. A change told while a load is on its way may or may not be in
// what the load answers (the set is read on one connection, the change heard on another), so
// the changes told meanwhile are applied again, in order, on top of what it answers.
#pragma once

#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace greendot::engine::redis_engine {

class InvisibleUsers {
 public:
  bool contains(const std::string& user) const { return users_.contains(user); }
  void changed(const std::string& user, bool invisible);

  // A load is sent; each is then ended by loaded() or by load_failed().
  void load_sent() { ++loads_; }
  void loaded(std::unordered_set<std::string> users);
  void load_failed();

 private:
  void end_load();

  std::unordered_set<std::string> users_;
  int loads_ = 0;                                   // sent and not answered
  std::vector<std::pair<std::string, bool>> told_;  // changes since the first of them was sent
};

}  // namespace greendot::engine::redis_engine
