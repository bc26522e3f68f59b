// TLS for rediss://: the client context every TLS connection to Redis is made with. The server's
// certificate is verified by default, against the system's certificate authorities or those of
// a CA file (a private CA, or a self-signed server certificate), and its name against the host
// connected to (RedisConnection checks that part).
#pragma once

#include <memory>
#include <string>
#include <variant>

namespace boost::asio::ssl {
class context;
}

namespace greendot::redis {

using TlsContext = boost::asio::ssl::context;

struct TlsOptions {
  // PEM certificate authorities to trust instead of the system's; empty: the system's store.
  std::string ca_file;
  // A client certificate and its key (PEM), for servers that ask for one (redis-server's own
  // default, tls-auth-clients yes); both empty: none.
  std::string cert_file;
  std::string key_file;
};

// The context, or what is wrong (a file that cannot be read, a key that does not match).
std::variant<std::shared_ptr<TlsContext>, std::string> make_tls_context(const TlsOptions& options);

}  // namespace greendot::redis
