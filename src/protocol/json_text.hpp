// Writing JSON text by hand for the messages greendot sends many times: appending into one
// string is several times cheaper than building a DOM and serializing it.
#pragma once

#include <string>
#include <string_view>

namespace greendot::protocol {

// Appends `s` as a JSON string literal, quotes included. `s` must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

// `s` as a JSON string literal.
std::string json_string(std::string_view s);

}  // namespace greendot::protocol
