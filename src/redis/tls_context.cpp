#include "redis/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>

namespace greendot::redis {

namespace ssl = boost::asio::ssl;

std::variant<std::shared_ptr<TlsContext>, std::string> make_tls_context(const TlsOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  // TLS 1.2 at least: what Redis 6+ and every managed service offer.
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return "cannot load the system's certificate authorities: " + ec.message();
  } else {
    context->load_verify_file(options.ca_file, ec);
    if (ec) return "cannot read the CA file " + options.ca_file + ": " + ec.message();
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return std::string("a client certificate needs both its certificate file and its key file");
  }
  if (!options.cert_file.empty()) {
    context->use_certificate_chain_file(options.cert_file, ec);
    if (ec) return "cannot read the client certificate " + options.cert_file + ": " + ec.message();
    context->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return "cannot read the client key " + options.key_file + ": " + ec.message();
  }
  return context;
}

}  // namespace greendot::redis
