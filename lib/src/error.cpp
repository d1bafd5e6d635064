// The ringkit error category: one constinit object, all messages in one switch.
#include <ringkit/error.hpp>

namespace ringkit {
namespace {

class Category final : public std::error_category {
 public:
  constexpr Category() noexcept = default;
  [[nodiscard]] const char* name() const noexcept override { return "ringkit"; }
  [[nodiscard]] std::string message(int ev) const override {
    return describe(static_cast<Errc>(ev));
  }
};

constinit const Category kCategory;

}  // namespace

const char* describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok:
      return "success";
    case Errc::invalid_capacity:
      return "capacity must be a non-zero power of two within the supported range";
    case Errc::over_commit:
      return "commit of more bytes than the free space";
    case Errc::over_consume:
      return "consume of more bytes than the filled space";
    case Errc::over_report:
      return "callback reported more bytes than it was offered; nothing committed";
    case Errc::ring_full:
      return "ring is full (would block)";
    case Errc::ring_empty:
      return "ring is empty (would block)";
    case Errc::callback_error:
      return "callback returned an error; nothing committed";
    case Errc::invalid_argument:
      return "invalid argument";
    case Errc::not_page_multiple:
      return "size must be a multiple of the page size";
    case Errc::unsupported:
      return "not supported on this platform or kernel";
    case Errc::busy:
      return "an operation on this ring half is already in flight";
  }
  return "unknown ringkit error";
}

const std::error_category& error_category() noexcept { return kCategory; }

}  // namespace ringkit
