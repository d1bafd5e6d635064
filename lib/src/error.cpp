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
    case Errc::pool_exhausted:
      return "every slot of the size class is in use; retry after a release";
    case Errc::too_large:
      return "larger than the largest size class and the heap fallback is disabled";
    case Errc::stale_handle:
      return "stale handle: its slot was released or recycled";
    case Errc::refcount_overflow:
      return "reference count would overflow";
    case Errc::head_in_use:
      return "the ring allocator's head region is in use; retry after releases";
    case Errc::never_fits:
      return "larger than the ring allocator's store can ever provide; do not retry";
    case Errc::allocator_busy:
      return "an extendable buffer is open on this ring allocator";
    case Errc::closed:
      return "the other side is closed";
    case Errc::timed_out:
      return "timed out";
    case Errc::lagged:
      return "lapped by the broadcast writer: elements were overwritten before they were read";
    case Errc::queue_full:
      return "submission queue full";
  }
  return "unknown ringkit error";
}

const std::error_category& error_category() noexcept { return kCategory; }

}  // namespace ringkit
