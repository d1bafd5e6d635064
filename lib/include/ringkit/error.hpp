// ringkit/error.hpp: ringkit's own error conditions (Errc) and their std::error_category.
//
// Hot paths return the 1-byte Errc directly (ok == 0); building a std::error_code is left to the
// caller (`std::error_code ec = writer.commit(n);`), so the success path costs nothing.
// Setup calls return ringkit::Result<T> (ringkit/result.hpp) whose error is a std::error_code:
// system errors keep their errno in std::system_category(), ringkit's own use this category.
//
// Thread safety: everything here is thread-safe (the category is a constinit constant).
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace ringkit {

/// ringkit's own error conditions. `ok` is zero so `if (auto e = w.commit(n); e != Errc::ok)`
/// and `if (!is_ok(e))` read naturally. Messages are in lib/src/error.cpp.
enum class Errc : std::uint8_t {
  ok = 0,
  invalid_capacity,   ///< capacity is zero, not a power of two, or too large
  over_commit,        ///< commit(n) with n larger than the free space
  over_consume,       ///< consume(n) with n larger than the filled space
  over_report,        ///< an io_slices callback reported more bytes than it was offered
  ring_full,          ///< nothing to offer: the ring has no free space (would block)
  ring_empty,         ///< nothing to offer: the ring has no data (would block)
  callback_error,     ///< an io_slices callback returned a negative value (see errno)
  invalid_argument,   ///< an argument is out of its documented range
  not_page_multiple,  ///< a size must be a multiple of the page size
  unsupported,        ///< the platform or kernel lacks a required feature
  busy,               ///< an operation on this ring half is already in flight
  // Message storage (event pools, ring allocator, broadcast ring).
  pool_exhausted,     ///< every slot of the size class is in use (retry after a release)
  too_large,          ///< larger than the largest size class and the heap fallback is off
  stale_handle,       ///< a token or weak handle whose slot was released or recycled
  refcount_overflow,  ///< one more reference would overflow the 32-bit refcount
  head_in_use,        ///< the ring allocator's head region is still in use (retry after releases)
  never_fits,         ///< larger than the ring allocator's store can ever give (do not retry)
  allocator_busy,     ///< an extendable buffer is open on this ring allocator
  closed,             ///< the other side is gone (closed or destroyed)
  timed_out,          ///< the wait's deadline passed first
  lagged,             ///< a broadcast reader was lapped: elements it viewed were overwritten
  // Frame decoding (ringkit/framing.hpp): per-stream errors; "need more bytes" is a status.
  negative_length,       ///< a signed length field holds a negative value
  length_below_header,   ///< the adjusted frame length is shorter than the header
  strip_exceeds_frame,   ///< strip_prefix is longer than the frame
  length_overflow,       ///< the adjusted length does not fit in 64 bits (or in the width)
  varint_overflow,       ///< a varint's value exceeds its type (e.g. 10th LEB128 byte > 1)
  varint_too_long,       ///< a varint has more bytes than its type allows
  varint_non_minimal,    ///< a varint has redundant continuation bytes (strict mode)
  frame_too_long,        ///< the frame is longer than max_frame
  buffered_limit,        ///< more than max_buffered bytes (or a full ring) without a frame
  delimiter_not_found,   ///< no delimiter within max_frame bytes
  truncated,             ///< end of stream inside a frame
  store_exhausted,       ///< no message storage free now (retry after releases)
  bare_carriage_return,  ///< line mode: a "\r" not followed by "\n"
  queue_full,            ///< a submission queue is full and could not be flushed (retry later)
  protocol_error,        ///< the peer broke the application protocol above framing
};

/// True when `e` is Errc::ok.
[[nodiscard]] constexpr bool is_ok(Errc e) noexcept { return e == Errc::ok; }

/// The category of ringkit's own errors; name() is "ringkit".
[[nodiscard]] const std::error_category& error_category() noexcept;

/// Short, stable, human-readable description of `e` (no allocation).
[[nodiscard]] const char* describe(Errc e) noexcept;

/// Makes a std::error_code in ringkit's category (found by ADL for `std::error_code ec = e;`).
[[nodiscard]] inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace ringkit

/// @cond INTERNAL (Doxygen cannot scope a specialization of a std template)
template <>
struct std::is_error_code_enum<ringkit::Errc> : std::true_type {};
/// @endcond
