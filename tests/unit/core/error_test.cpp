// Tests of ringkit/error.hpp: every Errc converts to std::error_code in the ringkit category with
// a distinct message. A new Errc value is added to kAllErrc below.
#include <ringkit/error.hpp>  // first: the header is self-contained

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

// ---------------------------------------------------------------------------------------------
// Errc and its std::error_category

constexpr Errc kAllErrc[] = {Errc::ok,
                             Errc::invalid_capacity,
                             Errc::over_commit,
                             Errc::over_consume,
                             Errc::over_report,
                             Errc::ring_full,
                             Errc::ring_empty,
                             Errc::callback_error,
                             Errc::invalid_argument,
                             Errc::not_page_multiple,
                             Errc::unsupported,
                             Errc::busy,
                             Errc::pool_exhausted,
                             Errc::too_large,
                             Errc::stale_handle,
                             Errc::refcount_overflow,
                             Errc::head_in_use,
                             Errc::never_fits,
                             Errc::allocator_busy,
                             Errc::closed,
                             Errc::timed_out,
                             Errc::lagged,
                             Errc::negative_length,
                             Errc::length_below_header,
                             Errc::strip_exceeds_frame,
                             Errc::length_overflow,
                             Errc::varint_overflow,
                             Errc::varint_too_long,
                             Errc::varint_non_minimal,
                             Errc::frame_too_long,
                             Errc::buffered_limit,
                             Errc::delimiter_not_found,
                             Errc::truncated,
                             Errc::store_exhausted,
                             Errc::bare_carriage_return,
                             Errc::queue_full,
                             Errc::protocol_error};

TEST(Errc, ConvertsToErrorCodeInTheRingkitCategory) {
  for (const Errc e : kAllErrc) {
    SCOPED_TRACE(static_cast<int>(e));
    const std::error_code ec = e;  // implicit, via is_error_code_enum
    EXPECT_EQ(ec.value(), static_cast<int>(e));
    EXPECT_EQ(&ec.category(), &ringkit::error_category());
    EXPECT_STREQ(ec.category().name(), "ringkit");
    EXPECT_FALSE(ec.message().empty());
    EXPECT_EQ(ec.message(), ringkit::describe(e));
    EXPECT_EQ(ec, e);
    EXPECT_EQ(ec, ringkit::make_error_code(e));
    EXPECT_EQ(static_cast<bool>(ec), e != Errc::ok);  // ok is "no error"
  }
}

TEST(Errc, MessagesAreDistinct) {
  std::vector<std::string> seen;
  for (const Errc e : kAllErrc) {
    const std::string m = ringkit::describe(e);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), m), 0) << m;
    seen.push_back(m);
  }
}

TEST(Errc, UnknownValuesStillHaveAMessage) {
  const std::error_code ec(200, ringkit::error_category());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_STRNE(ringkit::describe(static_cast<Errc>(200)), "");
}

TEST(Errc, ErrorCodeFromAHotPathResult) {
  auto ring = *ringkit::make_byte_ring(16);
  const std::error_code ok = ring.writer.commit(0);
  EXPECT_FALSE(ok);
  const std::error_code bad = ring.writer.commit(17);
  EXPECT_TRUE(bad);
  EXPECT_EQ(bad, Errc::over_commit);
  EXPECT_NE(bad, std::errc::invalid_argument);  // not the generic category
}

}  // namespace
