// rediss://: TLS to a real redis-server (Debian's is built with TLS) serving a certificate the
// test makes with `openssl req`. The certificate is verified: trusted through a CA file, refused
// against the system's authorities, refused for a host it does not name; and a client
// certificate for a server that asks for one.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis/make_client.hpp"
#include "redis/tls_context.hpp"
#include "redis_test_server.hpp"

namespace greendot::redis {
namespace {

using namespace std::chrono_literals;

struct RedisTls : testing::RedisServer {
  // One self-signed certificate for the suite, naming "localhost" only (not 127.0.0.1).
  static inline std::string dir;
  static std::string cert() { return dir + "/cert.pem"; }
  static std::string key() { return dir + "/key.pem"; }

  static void SetUpTestSuite() {
    char path[] = "/tmp/greendot-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(path), nullptr);
    dir = path;
    ASSERT_NO_FATAL_FAILURE(testing::make_test_certificate(cert(), key(), "DNS:localhost"));
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  virtual bool clients_need_certificates() const { return false; }
  std::vector<std::string> extra_args() const override {
    return {"--port",
            "0",
            "--tls-port",
            std::to_string(port),
            "--tls-cert-file",
            cert(),
            "--tls-key-file",
            key(),
            "--tls-ca-cert-file",
            cert(),
            "--tls-auth-clients",
            clients_need_certificates() ? "yes" : "no"};
  }

  std::string url(const std::string& host) const {
    return "rediss://" + host + ":" + std::to_string(port);
  }

  static TlsOptions trusting(std::string ca_file, std::string cert_file = "",
                             std::string key_file = "") {
    TlsOptions options;
    options.ca_file = std::move(ca_file);
    options.cert_file = std::move(cert_file);
    options.key_file = std::move(key_file);
    return options;
  }
  std::shared_ptr<TlsContext> context(TlsOptions options) {
    auto made = make_tls_context(options);
    EXPECT_TRUE(std::holds_alternative<std::shared_ptr<TlsContext>>(made))
        << std::get<std::string>(made);
    return std::get<std::shared_ptr<TlsContext>>(made);
  }

  // Connects (TLS, HELLO 3) and PINGs: "PONG", or why not.
  std::string ping(const std::string& host, std::shared_ptr<TlsContext> tls) {
    auto connection = RedisConnection::create(io);
    std::optional<std::string> outcome;
    connection->connect(
        std::get<RedisEndpoint>(parse_redis_url(url(host))),
        [&](std::optional<ConnectionError> error) {
          if (error) outcome = error->message;
        },
        std::move(tls));
    const std::string_view args[] = {"PING"};
    connection->command(args, [&](Result result) {
      if (outcome) return;
      if (auto* error = std::get_if<ConnectionError>(&result)) {
        outcome = error->message;
      } else {
        outcome = std::get<Reply>(result).text;
      }
    });
    EXPECT_TRUE(run_until([&] { return outcome.has_value(); }));
    return outcome.value_or("no outcome");
  }
};

TEST_F(RedisTls, AServerCertificateFromTheCaFileIsTrusted) {
  EXPECT_EQ(ping("localhost", context(trusting(cert()))), "PONG");
}

TEST_F(RedisTls, AnAuthorityTheSystemDoesNotKnowIsRefused) {
  const std::string outcome = ping("localhost", nullptr);  // the system's store, by default
  EXPECT_NE(outcome.find("certificate verify failed"), std::string::npos) << outcome;
}

TEST_F(RedisTls, AHostTheCertificateDoesNotNameIsRefused) {
  const std::string outcome = ping("127.0.0.1", context(trusting(cert())));
  EXPECT_NE(outcome.find("TLS handshake failed"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("certificate verify failed"), std::string::npos) << outcome;
}

TEST_F(RedisTls, TheFactoryMakesAClientThatServesOverTls) {
  RedisSettings settings;
  settings.urls = {url("localhost")};
  settings.tls.ca_file = cert();
  auto client = make_redis_client(io, settings);
  bool up = false;
  client->on_up([&] { up = true; });
  client->start();
  ASSERT_TRUE(run_until([&] { return up; }));
  std::optional<Reply> pong;
  const std::string_view args[] = {"PING"};
  client->command("", args, [&](Result r) { pong = std::get<Reply>(r); });
  ASSERT_TRUE(run_until([&] { return pong.has_value(); }));
  EXPECT_EQ(pong->text, "PONG");
  client->stop();
}

struct RedisTlsWithClientCertificates : RedisTls {
  bool clients_need_certificates() const override { return true; }
};

TEST_F(RedisTlsWithClientCertificates, AClientCertificateIsSentWhenGiven) {
  EXPECT_EQ(ping("localhost", context(trusting(cert(), cert(), key()))), "PONG");
  const std::string refused = ping("localhost", context(trusting(cert())));
  EXPECT_NE(refused, "PONG") << "the server wants a certificate";
}

TEST(RedisTlsContext, UnreadableFilesAreClearErrors) {
  auto made = make_tls_context(RedisTls::trusting("/nonexistent/ca.pem"));
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_NE(std::get<std::string>(made).find("/nonexistent/ca.pem"), std::string::npos);
  made = make_tls_context(RedisTls::trusting("", "/nonexistent/cert.pem"));
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_NE(std::get<std::string>(made).find("both"), std::string::npos);
}

}  // namespace
}  // namespace greendot::redis
