// Reading the fields of greendot's presence requests (heartbeats, offlines, queries), each
// with the 400 that says what is wrong. Shared by the signed and the page endpoints.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/api_message.hpp"
#include "config/settings.hpp"
#include "engine/presence_engine.hpp"

namespace greendot::api {

template <class T>
using Field = std::variant<T, RestResponse>;

template <class T>
const RestResponse* refusal_of(const Field<T>& field) {
  return std::get_if<RestResponse>(&field);
}

// A request body as a JSON object; an empty body is an empty object.
Field<boost::json::object> body_object(const std::string& body);

// A context "chat.42" is the presence channel "presence-chat.42".
Field<std::string> context_channel(const boost::json::value& context);
Field<std::string> context_channel(std::string_view context);
std::string_view context_of(std::string_view channel);

// The channels of "contexts" (an array) or "context" (one), "global" when neither is given.
Field<std::vector<std::string>> contexts_of(const boost::json::object& body);
// "context" if given (one channel), else empty: everywhere.
Field<std::string> optional_context(const boost::json::object& body);

// "status": "online" | "away", optional.
Field<std::optional<engine::UserStatus>> status_field(const boost::json::object& body);

// "tab": the page's tab id, from the body or else from the query string (a text/plain beacon
// carries no fields); 1 to 64 characters of [A-Za-z0-9_.:-]. Empty when neither names one.
Field<std::string> tab_field(const boost::json::object& body, std::string_view query_tab);

// "user_id": a string or an integer, a valid user id.
Field<std::string> user_id_field(const boost::json::object& body, const config::AppConfig& app);
// "user_info": an object within max_user_info_bytes, "null" when absent.
Field<std::string> user_info_field(const boost::json::object& body, const config::AppConfig& app);

}  // namespace greendot::api
