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
    case Errc::negative_length:
      return "frame length field is negative";
    case Errc::length_below_header:
      return "adjusted frame length is shorter than the frame header";
    case Errc::strip_exceeds_frame:
      return "bytes to strip exceed the frame length";
    case Errc::length_overflow:
      return "adjusted frame length overflows";
    case Errc::varint_overflow:
      return "varint length exceeds its type";
    case Errc::varint_too_long:
      return "varint length has too many bytes";
    case Errc::varint_non_minimal:
      return "varint length is not minimally encoded";
    case Errc::frame_too_long:
      return "frame longer than the maximum frame size";
    case Errc::buffered_limit:
      return "too many bytes buffered without a complete frame";
    case Errc::delimiter_not_found:
      return "no delimiter within the maximum frame size";
    case Errc::truncated:
      return "end of stream inside a frame";
    case Errc::store_exhausted:
      return "message storage exhausted (retry after releases)";
    case Errc::bare_carriage_return:
      return "carriage return not followed by line feed";
    case Errc::queue_full:
      return "submission queue full";
    case Errc::protocol_error:
      return "protocol error";
  }
  return "unknown ringkit error";
}

const std::error_category& error_category() noexcept { return kCategory; }

}  // namespace ringkit
