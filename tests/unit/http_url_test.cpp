#include "config/http_url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace greendot::config {
namespace {

std::string error_of(std::string_view url) {
  try {
    parse_http_url(url);
  } catch (const BadUrl& bad) {
    return bad.what();
  }
  return "(no error)";
}

TEST(HttpUrl, HostPortPathAndQuery) {
  const HttpUrl url = parse_http_url("http://hooks.example.com:8080/pusher/hook?app=1#frag");
  EXPECT_EQ(url.host, "hooks.example.com");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.host_header, "hooks.example.com:8080");
  EXPECT_EQ(url.target, "/pusher/hook?app=1");
}

TEST(HttpUrl, DefaultsToPort80AndRootPath) {
  const HttpUrl url = parse_http_url("http://127.0.0.1");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.host_header, "127.0.0.1");
  EXPECT_EQ(url.target, "/");
  EXPECT_EQ(parse_http_url("http://h?x=1").target, "/?x=1");
  EXPECT_EQ(parse_http_url("HTTP://h/").host, "h");
}

TEST(HttpUrl, Ipv6HostIsResolvedWithoutBrackets) {
  const HttpUrl url = parse_http_url("http://[::1]:9000/x");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.host_header, "[::1]:9000");
}

TEST(HttpUrl, RejectsWhatItCannotSendTo) {
  EXPECT_EQ(error_of("https://example.com/hook"),
            "https webhooks are not supported yet; put a local proxy in front");
  EXPECT_EQ(error_of("ftp://example.com/"), "must be an http:// URL, got scheme \"ftp\"");
  EXPECT_EQ(error_of("http:///path"), "must have a host");
  EXPECT_EQ(error_of("http://user:pw@example.com/"), "must not contain a user name or password");
  EXPECT_EQ(error_of("http://example.com:0/"), "port must be between 1 and 65535, got \"0\"");
  EXPECT_EQ(error_of("http://example.com:70000/"),
            "port must be between 1 and 65535, got \"70000\"");
  EXPECT_EQ(error_of("http://example.com:99999/"),
            "port must be between 1 and 65535, got \"99999\"");
  EXPECT_EQ(error_of("http://example.com:/"), "port must be between 1 and 65535, got \"\"");
  EXPECT_EQ(error_of("example.com/hook").rfind("is not a valid absolute URL", 0), 0u);
  EXPECT_EQ(error_of("").rfind("is not a valid absolute URL", 0), 0u);
  EXPECT_EQ(error_of("http://exa mple.com/").rfind("is not a valid absolute URL", 0), 0u);
}

}  // namespace
}  // namespace greendot::config
