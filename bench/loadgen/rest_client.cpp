#include "rest_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "protocol/json_text.hpp"
#include "protocol/rest_signature.hpp"
#include "protocol/signature.hpp"
#include "protocol/user_token.hpp"

namespace bench {

namespace {}  // namespace

RestClient::RestClient(std::string host, int port) : host_(std::move(host)), port_(port) {}

RestClient::~RestClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RestClient::connect() {
  if (fd_ >= 0) ::close(fd_);
  buffer_.clear();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port_));
  ::inet_pton(AF_INET, host_.c_str(), &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

HttpResponse RestClient::request(std::string_view method, const std::string& target,
                                 std::string_view body,
                                 const std::map<std::string, std::string>& headers) {
  std::string request =
      std::string(method) + " " + target + " HTTP/1.1\r\nHost: " + host_ +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  request.append(body);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0 && !connect()) return {};
    HttpResponse response = exchange(request);
    if (response.status != 0) return response;
    ::close(fd_);
    fd_ = -1;
  }
  return {};
}

HttpResponse RestClient::exchange(const std::string& request) {
  for (std::size_t done = 0; done < request.size();) {
    const ssize_t n = ::send(fd_, request.data() + done, request.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return {};
    done += static_cast<std::size_t>(n);
  }
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    char chunk[16384];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n <= 0) return {};
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  HttpResponse response;
  std::sscanf(buffer_.c_str(), "HTTP/1.%*d %d", &response.status);
  std::size_t length = 0;
  std::string head = buffer_.substr(0, head_end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto at = head.find("content-length:"); at != std::string::npos) {
    length = std::stoul(head.substr(at + 15));
  }
  const bool close = head.find("connection: close") != std::string::npos;
  while (buffer_.size() < head_end + 4 + length) {
    char chunk[16384];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n <= 0) return {};
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  response.body = buffer_.substr(head_end + 4, length);
  buffer_.erase(0, head_end + 4 + length);
  if (close) {
    ::close(fd_);
    fd_ = -1;
  }
  return response;
}

std::string pusher_signed_target(std::string_view method, const std::string& path,
                                 std::string_view body, const std::string& key,
                                 const std::string& secret,
                                 std::map<std::string, std::string> query) {
  query["auth_key"] = key;
  query["auth_timestamp"] = std::to_string(std::time(nullptr));
  query["auth_version"] = "1.0";
  if (!body.empty()) query["body_md5"] = greendot::protocol::md5_hex(body);
  std::string sorted;  // std::map iterates in key order, as the signature requires
  for (const auto& [name, value] : query) {
    if (!sorted.empty()) sorted.push_back('&');
    sorted += name + "=" + value;
  }
  const std::string to_sign = std::string(method) + "\n" + path + "\n" + sorted;
  return path + "?" + sorted +
         "&auth_signature=" + greendot::protocol::hmac_sha256_hex(secret, to_sign);
}

std::string user_token(const std::string& app_id, const std::string& secret,
                       const std::string& user, int ttl_seconds) {
  // Made for the app, opening every context: the scenario pings rooms of its own choosing.
  return greendot::protocol::sign_user_token(
      "{\"sub\":" + greendot::protocol::json_string(user) +
          ",\"aud\":" + greendot::protocol::json_string(app_id) + ",\"contexts\":[\"*\"]" +
          ",\"exp\":" + std::to_string(std::time(nullptr) + ttl_seconds) + "}",
      secret);
}

HttpResponse trigger_event(RestClient& client, const std::string& app_id, const std::string& key,
                           const std::string& secret, const std::string& channel,
                           const std::string& event, const std::string& data) {
  using greendot::protocol::json_string;
  const std::string body = "{\"name\":" + json_string(event) + ",\"channels\":[" +
                           json_string(channel) + "],\"data\":" + json_string(data) + "}";
  const std::string path = "/apps/" + app_id + "/events";
  return client.request("POST", pusher_signed_target("POST", path, body, key, secret), body);
}

}  // namespace bench
