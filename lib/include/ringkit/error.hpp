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

template <>
struct std::is_error_code_enum<ringkit::Errc> : std::true_type {};
