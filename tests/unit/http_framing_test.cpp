#include "protocol/http_framing.hpp"

#include <gtest/gtest.h>

namespace greendot::protocol::http {
namespace {

int status_of(std::string_view header) {
  auto problem = check_transfer_encoding(header);
  return problem ? problem->status : 0;
}

TEST(TransferEncoding, NoneOrChunkedAloneIsFine) {
  EXPECT_EQ(status_of(""), 0);
  EXPECT_EQ(status_of("chunked"), 0);
  EXPECT_EQ(status_of("Chunked"), 0);
  EXPECT_EQ(status_of(" chunked ,"), 0);
}

TEST(TransferEncoding, ChunkedThatIsNotLastCannotBeDelimited) {
  EXPECT_EQ(status_of("chunked, identity"), 400);
  EXPECT_EQ(status_of("chunked,gzip"), 400);
  EXPECT_EQ(status_of("identity"), 400);
  EXPECT_EQ(status_of("gzip"), 400);
  EXPECT_EQ(status_of(","), 400);
  EXPECT_EQ(status_of("chunked, chunked"), 400);
  EXPECT_NE(check_transfer_encoding("chunked, identity")->message.find("must end with chunked"),
            std::string::npos);
}

TEST(TransferEncoding, OtherCodingsBeforeChunkedAreNotImplemented) {
  EXPECT_EQ(status_of("gzip, chunked"), 501);
  EXPECT_EQ(status_of("identity,chunked"), 501);
  EXPECT_NE(check_transfer_encoding("gzip, chunked")->message.find("gzip"), std::string::npos);
}

}  // namespace
}  // namespace greendot::protocol::http
