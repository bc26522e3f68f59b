// The hashes and MACs the protocols need, through OpenSSL 3 with its algorithms fetched once
// per process and HMAC contexts kept per thread and key. OpenSSL's one-shot calls (HMAC(),
// EVP_Digest with EVP_sha256()) look the algorithm up in the provider on every call, which
// was a measurable share of a heartbeat's cost.
#pragma once

#include <array>
#include <string_view>

namespace greendot::protocol {

using Sha256Digest = std::array<unsigned char, 32>;
using Md5Digest = std::array<unsigned char, 16>;
using Sha1Digest = std::array<unsigned char, 20>;

Sha256Digest hmac_sha256(std::string_view key, std::string_view message);
Md5Digest md5(std::string_view data);
Sha1Digest sha1(std::string_view data);

}  // namespace greendot::protocol
