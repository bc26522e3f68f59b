// A blocking HTTP/1.1 keep-alive client for the signed REST API (event triggers, heartbeats)
// and the helpers that sign for it: Pusher's query signature and the browser token (JWT).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace bench {

struct HttpResponse {
  int status = 0;  // 0: no answer (connection failed or closed)
  std::string body;
};

class RestClient {
 public:
  RestClient(std::string host, int port);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // Reconnects once if the kept-alive connection was closed.
  HttpResponse request(std::string_view method, const std::string& target, std::string_view body,
                       const std::map<std::string, std::string>& headers = {});

 private:
  bool connect();
  HttpResponse exchange(const std::string& request);

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string buffer_;
};

// "<path>?auth_key=..&auth_timestamp=..&auth_version=1.0&body_md5=..&auth_signature=..":
// HMAC-SHA256(secret, "<METHOD>\n<path>\n<sorted query>") as Pusher's server libraries sign.
std::string pusher_signed_target(std::string_view method, const std::string& path,
                                 std::string_view body, const std::string& key,
                                 const std::string& secret,
                                 std::map<std::string, std::string> query = {});

// An HS256 JWT {"sub":user,"aud":app,"contexts":["*"],"exp":now+ttl}, signed with the secret.
std::string user_token(const std::string& app_id, const std::string& secret,
                       const std::string& user, int ttl_seconds);

// POST /apps/{id}/events for one channel; `data` is the event's data string.
HttpResponse trigger_event(RestClient& client, const std::string& app_id, const std::string& key,
                           const std::string& secret, const std::string& channel,
                           const std::string& event, const std::string& data);

}  // namespace bench
