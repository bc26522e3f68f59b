#include "protocol/digest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "protocol/signature.hpp"

namespace greendot::protocol {
namespace {

template <std::size_t N>
std::string hex(const std::array<unsigned char, N>& digest) {
  return hex_encode(digest.data(), digest.size());
}

// RFC 4231, test case 2.
constexpr std::string_view kJefeMac =
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

TEST(Digest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")), kJefeMac);
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")), kJefeMac)
      << "a reused keyed context starts afresh";
}

TEST(Digest, HmacKeysDoNotLeakIntoEachOther) {
  // More keys than the per-thread cache holds, interleaved, each checked against its first
  // answer: an evicted or reused context must give the same MAC.
  std::vector<std::string> first;
  for (int i = 0; i < 40; ++i) {
    first.push_back(hex(hmac_sha256("secret-" + std::to_string(i), "message")));
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 39; i >= 0; --i) {
      EXPECT_EQ(hex(hmac_sha256("secret-" + std::to_string(i), "message")), first[i]) << i;
    }
  }
  EXPECT_NE(first[0], first[1]);
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")), kJefeMac);
}

TEST(Digest, HmacAgreesAcrossThreads) {
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&results, t] {
      for (int i = 0; i < 200; ++i)
        results[t] = hex(hmac_sha256("Jefe", "what do ya want for nothing?"));
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, kJefeMac);
}

TEST(Digest, HmacOfAnEmptyKeyAndMessage) {
  // Known value (e.g. `printf '' | openssl dgst -sha256 -hmac ''`).
  EXPECT_EQ(hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Digest, Md5AndSha1MatchKnownValues) {
  EXPECT_EQ(hex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(md5("{\"name\":\"foo\"}")), "50b6137335559d7afac1144578f8e178");
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
}  // namespace greendot::protocol
