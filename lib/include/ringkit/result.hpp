// ringkit/result.hpp: Result<T>, a small std::expected<T, std::error_code> for setup calls.
//
// g++ 12 and clang 14 (libstdc++ 12) have no <expected> in C++20, so ringkit carries this subset
// with the same spelling: has_value(), operator bool, *, ->, error(), value_or(), and value(),
// which throws std::system_error. Swapping to std::expected later is mechanical.
// Errors are built with ringkit::unexpected(ec) (std::unexpected's shape). Beyond std::expected,
// an error may carry a static string naming the failing call (context(), e.g. "memfd_create"),
// and message() joins the two: "memfd_create: Too many open files".
//
// Hot paths never return Result: they return counts, bool or the 1-byte Errc (docs/conventions.md
// rule 9). Thread safety: thread-compatible, like any value type.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include <ringkit/error.hpp>

namespace ringkit {

/// Holds the error of a failed Result (std::unexpected's role).
struct Unexpected {
  std::error_code error;
  const char* context = nullptr;  ///< static string naming the failing call, or nullptr
};

/// Wraps `ec` so it converts to any Result<T> in the error state; `context` (a string literal)
/// names the failing call.
[[nodiscard]] inline Unexpected unexpected(std::error_code ec,
                                           const char* context = nullptr) noexcept {
  return {ec, context};
}
/// Same, for ringkit's own conditions.
[[nodiscard]] inline Unexpected unexpected(Errc e, const char* context = nullptr) noexcept {
  return {make_error_code(e), context};
}
/// Same, for a system call's errno.
[[nodiscard]] inline Unexpected unexpected_errno(int err, const char* context = nullptr) noexcept {
  return {std::error_code(err, std::system_category()), context};
}

namespace detail {
[[nodiscard]] inline std::string join_message(const std::error_code& ec, const char* context) {
  if (context == nullptr || *context == '\0') return ec.message();
  return std::string(context) + ": " + ec.message();
}
}  // namespace detail

namespace detail {
/// A constructor argument for Result<T>'s value: converts to T and is not a Result or Unexpected.
template <class U, class T, class Self>
concept value_arg =
    std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, Self> &&
    !std::is_same_v<std::remove_cvref_t<U>, Unexpected>;
}  // namespace detail

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Unexpected>);

 public:
  using value_type = T;
  using error_type = std::error_code;

  // NOLINTNEXTLINE(google-explicit-constructor): implicit like std::expected
  Result(Unexpected u) noexcept : v_(std::in_place_index<1>, u) {}
  // Implicit like std::expected; value_arg excludes Result and Unexpected, so this does not hide
  // the copy/move constructors.
  template <detail::value_arg<T, Result> U = T>
  // NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
  Result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>)
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  template <class... Args>
  explicit Result(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// Precondition: has_value() (unchecked, like std::expected).
  [[nodiscard]] T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  [[nodiscard]] const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  [[nodiscard]] T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  [[nodiscard]] T* operator->() noexcept { return std::get_if<0>(&v_); }
  [[nodiscard]] const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  /// Returns the value or throws std::system_error(error(), context()).
  [[nodiscard]] T& value() & {
    check();
    return **this;
  }
  [[nodiscard]] const T& value() const& {
    check();
    return **this;
  }
  [[nodiscard]] T&& value() && {
    check();
    return std::move(**this);
  }

  template <class U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  [[nodiscard]] T value_or(U&& fallback) && {
    return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(fallback));
  }

  /// The error; std::error_code{} when has_value().
  [[nodiscard]] std::error_code error() const noexcept {
    const auto* e = std::get_if<1>(&v_);
    return e != nullptr ? e->error : std::error_code{};
  }
  /// The failing call's name, or "" when none was given or has_value().
  [[nodiscard]] const char* context() const noexcept {
    const auto* e = std::get_if<1>(&v_);
    return e != nullptr && e->context != nullptr ? e->context : "";
  }
  /// "context: error message" (or just the message); "" when has_value().
  [[nodiscard]] std::string message() const {
    const auto* e = std::get_if<1>(&v_);
    return e != nullptr ? detail::join_message(e->error, e->context) : std::string();
  }

 private:
  void check() const {
    if (has_value()) return;
    if (*context() == '\0') throw std::system_error(error());
    throw std::system_error(error(), context());
  }
  std::variant<T, Unexpected> v_;
};

/// Result of an operation with no value: success or an error_code.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  using error_type = std::error_code;

  Result() noexcept = default;
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(Unexpected u) noexcept : ec_(u.error), context_(u.context) {}

  [[nodiscard]] bool has_value() const noexcept { return !ec_; }
  explicit operator bool() const noexcept { return has_value(); }
  /// Throws std::system_error(error(), context()) on failure.
  void value() const {
    if (!ec_) return;
    if (*context() == '\0') throw std::system_error(ec_);
    throw std::system_error(ec_, context());
  }
  [[nodiscard]] std::error_code error() const noexcept { return ec_; }
  /// The failing call's name, or "".
  [[nodiscard]] const char* context() const noexcept {
    return ec_ && context_ != nullptr ? context_ : "";
  }
  /// "context: error message" (or just the message); "" on success.
  [[nodiscard]] std::string message() const {
    return ec_ ? detail::join_message(ec_, context_) : std::string();
  }

 private:
  std::error_code ec_;
  const char* context_ = nullptr;
};

}  // namespace ringkit
