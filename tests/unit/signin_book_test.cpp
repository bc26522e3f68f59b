#include "core/signin_book.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace greendot::core {
namespace {

TEST(SigninBook, TheLastConnectionEndsTheSignInAfterTheGrace) {
  SigninBook book;
  EXPECT_TRUE(book.sign_in(0, "7", 1));
  EXPECT_FALSE(book.sign_in(0, "7", 2)) << "already signed in";
  EXPECT_FALSE(book.sign_out(0, "7", 1, 100, 500));
  EXPECT_FALSE(book.sign_out(0, "7", 2, 200, 500)) << "in grace until 700";
  EXPECT_TRUE(book.signed_in(0, "7"));
  std::vector<SignedOut> out;
  book.advance(699, out);
  EXPECT_TRUE(out.empty());
  book.advance(700, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].user_id, "7");
  EXPECT_EQ(out[0].left_at, 200) << "when the last connection ended, not the grace";
  EXPECT_FALSE(book.signed_in(0, "7"));
}

TEST(SigninBook, AReturnInsideTheGraceCancelsTheSignOut) {
  SigninBook book;
  book.sign_in(0, "7", 1);
  book.sign_out(0, "7", 1, 100, 500);
  EXPECT_FALSE(book.sign_in(0, "7", 2)) << "a reload: the user never left";
  std::vector<SignedOut> out;
  book.advance(10000, out);
  EXPECT_TRUE(out.empty()) << "the first grace's deadline is stale";
  book.sign_out(0, "7", 2, 20000, 500);
  book.advance(20500, out);
  EXPECT_EQ(out.size(), 1u);
}

TEST(SigninBook, WithoutAGraceTheSignOutIsAtOnce) {
  SigninBook book;
  book.sign_in(0, "7", 1);
  auto out = book.sign_out(0, "7", 1, 100, 0);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->left_at, 100);
  EXPECT_FALSE(book.signed_in(0, "7"));
}

TEST(SigninBook, UnknownSessionsChangeNothing) {
  SigninBook book;
  EXPECT_FALSE(book.sign_out(0, "7", 1, 0, 0));
  book.sign_in(0, "7", 1);
  EXPECT_FALSE(book.sign_out(0, "7", 9, 0, 0));
  EXPECT_TRUE(book.signed_in(0, "7"));
  std::vector<SessionId> sessions;
  book.for_each_session(0, "7", [&](SessionId s) { sessions.push_back(s); });
  EXPECT_EQ(sessions, std::vector<SessionId>{1});
}

}  // namespace
}  // namespace greendot::core
