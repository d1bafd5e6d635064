// Tests of ringkit/result.hpp: Result<T> holding values, errors with context, errno errors and
// move-only values.
#include <ringkit/result.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <sys/uio.h>

#include <gtest/gtest.h>

#include <ringkit/concepts.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

#include "support/pattern.hpp"
#include "support/ring_helpers.hpp"
#include "support/ring_kinds.hpp"

namespace {

using ringkit::Errc;
using ringkit::Result;

// ---------------------------------------------------------------------------------------------
// Result<T>

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return ringkit::unexpected(Errc::invalid_argument, "parse_digit");
  return c - '0';
}

TEST(Result, HoldsAValue) {
  const Result<int> r = parse_digit('7');
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(r.value_or(-1), 7);
  EXPECT_FALSE(r.error());
  EXPECT_STREQ(r.context(), "");
  EXPECT_EQ(r.message(), "");
}

TEST(Result, HoldsAnErrorWithContext) {
  const Result<int> r = parse_digit('x');
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Errc::invalid_argument);
  EXPECT_EQ(r.value_or(-1), -1);
  EXPECT_STREQ(r.context(), "parse_digit");
  EXPECT_EQ(r.message(), std::string("parse_digit: ") + ringkit::describe(Errc::invalid_argument));
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("parse_digit"), std::string::npos) << e.what();
  }
}

TEST(Result, ErrnoErrorsKeepTheSystemCategory) {
  const Result<int> r = ringkit::unexpected_errno(ENOENT, "open");
  EXPECT_EQ(r.error(), std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.message().find("open: "), std::string::npos);
  const Result<int> bare = ringkit::unexpected(std::make_error_code(std::errc::timed_out));
  EXPECT_STREQ(bare.context(), "");
  EXPECT_EQ(bare.message(), bare.error().message());
  EXPECT_THROW((void)bare.value(), std::system_error);
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r);
  EXPECT_EQ(**r, 5);
  EXPECT_EQ(*r->get(), 5);
  std::unique_ptr<int> taken = std::move(r).value();
  EXPECT_EQ(*taken, 5);

  Result<std::unique_ptr<int>> e = ringkit::unexpected(Errc::busy);
  std::unique_ptr<int> fallback = std::move(e).value_or(std::make_unique<int>(9));
  EXPECT_EQ(*fallback, 9);

  Result<std::string> in_place(std::in_place, 3, 'a');
  EXPECT_EQ(*in_place, "aaa");
  EXPECT_EQ(in_place->size(), 3U);
}

TEST(Result, VoidResult) {
  const Result<void> ok;
  EXPECT_TRUE(ok);
  EXPECT_TRUE(ok.has_value());
  EXPECT_NO_THROW(ok.value());
  EXPECT_FALSE(ok.error());
  EXPECT_STREQ(ok.context(), "");
  EXPECT_EQ(ok.message(), "");

  const Result<void> bad = ringkit::unexpected(Errc::unsupported, "feature");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::unsupported);
  EXPECT_STREQ(bad.context(), "feature");
  EXPECT_EQ(bad.message(), std::string("feature: ") + ringkit::describe(Errc::unsupported));
  EXPECT_THROW(bad.value(), std::system_error);
  const Result<void> bare = ringkit::unexpected_errno(EBADF);
  EXPECT_EQ(bare.message(), std::error_code(EBADF, std::system_category()).message());
  EXPECT_THROW(bare.value(), std::system_error);
}

}  // namespace
