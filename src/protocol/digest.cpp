#include "protocol/digest.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace greendot::protocol {

namespace {

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
  void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};

[[noreturn]] void unavailable(const char* what) {
  throw std::runtime_error(std::string("OpenSSL cannot compute ") + what);
}

const EVP_MD* fetched_digest(const char* name) {
  // Fetched once for the process; EVP_MD objects are safe to share between threads.
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (!md) unavailable(name);
  return md;
}

template <std::size_t N>
std::array<unsigned char, N> digest(const EVP_MD* md, std::string_view data, const char* name) {
  std::array<unsigned char, N> out{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &length, md, nullptr) != 1 || length != N) {
    unavailable(name);
  }
  return out;
}

// A few keyed HMAC contexts per thread: one per application secret in use, so a request
// re-initialises a context with its stored key instead of deriving the key pads again.
class HmacContexts {
 public:
  HmacContexts() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
    if (!mac_) unavailable("HMAC");
  }

  EVP_MAC_CTX* for_key(std::string_view key) {
    for (auto& entry : entries_) {
      if (entry.key == key) return entry.context.get();
    }
    if (entries_.size() == kMaxKeys) entries_.erase(entries_.begin());
    std::unique_ptr<EVP_MAC_CTX, MacDeleter> context(EVP_MAC_CTX_new(mac_.get()));
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                           OSSL_PARAM_construct_end()};
    if (!context || EVP_MAC_init(context.get(), reinterpret_cast<const unsigned char*>(key.data()),
                                 key.size(), params) != 1) {
      unavailable("HMAC-SHA256");
    }
    entries_.push_back({std::string(key), std::move(context)});
    return entries_.back().context.get();
  }

 private:
  static constexpr std::size_t kMaxKeys = 16;
  struct Entry {
    std::string key;
    std::unique_ptr<EVP_MAC_CTX, MacDeleter> context;
  };
  std::unique_ptr<EVP_MAC, MacDeleter> mac_;
  std::vector<Entry> entries_;
};

}  // namespace

Sha256Digest hmac_sha256(std::string_view key, std::string_view message) {
  thread_local HmacContexts contexts;
  EVP_MAC_CTX* context = contexts.for_key(key);
  Sha256Digest out{};
  std::size_t length = 0;
  // A null key restarts the context with the key it was first given.
  if (EVP_MAC_init(context, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(context, out.data(), &length, out.size()) != 1 || length != out.size()) {
    unavailable("HMAC-SHA256");
  }
  return out;
}

Md5Digest md5(std::string_view data) {
  static const EVP_MD* const kMd5 = fetched_digest("MD5");
  return digest<16>(kMd5, data, "MD5");
}

Sha1Digest sha1(std::string_view data) {
  static const EVP_MD* const kSha1 = fetched_digest("SHA1");
  return digest<20>(kSha1, data, "SHA1");
}

}  // namespace greendot::protocol
