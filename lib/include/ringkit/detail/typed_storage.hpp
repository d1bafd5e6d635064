// ringkit/detail/typed_storage.hpp: internal, not for direct inclusion. Storage for the typed
// mirrored rings (MirrorQueue, channels): a MirrorRegion holding `capacity` elements, or plain
// page-aligned memory when mirroring is refused (MirrorMode::automatic) or not wanted (never).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include <ringkit/concepts.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>

namespace ringkit::detail {

struct RawStorageDelete {
  void operator()(std::byte* p) const noexcept;
};

/// Bytes mapped twice (mirrored) or once (plain); move-only.
class RawStorage {
 public:
  RawStorage() noexcept = default;
  /// `bytes` must be a multiple of the page size when mode != never (callers round).
  [[nodiscard]] static Result<RawStorage> create(std::size_t bytes, MirrorMode mode,
                                                 const MirrorOptions& options);
  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] bool mirrored() const noexcept { return !region_.empty(); }

 private:
  MirrorRegion region_;
  std::unique_ptr<std::byte, RawStorageDelete> plain_;
  std::byte* data_ = nullptr;
};

/// Rounds a requested element count to the ring capacity: a power of two, at least one page of
/// elements when the storage may be mirrored. 0 when impossible (0 or too large).
[[nodiscard]] std::size_t round_ring_capacity(std::size_t min_elems, std::size_t elem_size,
                                              MirrorMode mode) noexcept;

/// Element storage of a typed ring; T is a ring_element (trivially copyable, size divides 4 KiB).
template <ring_element T>
class TypedStorage {
 public:
  TypedStorage() noexcept = default;
  [[nodiscard]] static Result<TypedStorage> create(std::size_t min_capacity, MirrorMode mode,
                                                   const MirrorOptions& options) {
    const std::size_t cap = round_ring_capacity(min_capacity, sizeof(T), mode);
    if (cap == 0) return unexpected(Errc::invalid_capacity, "ring capacity");
    auto raw = RawStorage::create(cap * sizeof(T), mode, options);
    if (!raw) return unexpected(raw.error(), raw.context());
    TypedStorage s;
    s.raw_ = std::move(*raw);
    s.cap_ = cap;
    return s;
  }
  /// Element array; when mirrored(), elements [capacity(), 2*capacity()) alias [0, capacity()).
  [[nodiscard]] T* data() const noexcept { return reinterpret_cast<T*>(raw_.data()); }
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool mirrored() const noexcept { return raw_.mirrored(); }

 private:
  RawStorage raw_;
  std::size_t cap_ = 0;
};

}  // namespace ringkit::detail
