// Storage for the typed rings: mirrored when possible (or required), plain otherwise.
#include <cerrno>
#include <new>

#include <ringkit/detail/typed_storage.hpp>

namespace ringkit::detail {

namespace {
constexpr std::size_t kPlainAlign = 4096;
}

void RawStorageDelete::operator()(std::byte* p) const noexcept {
  ::operator delete (p, std::align_val_t{kPlainAlign});
}

std::size_t round_ring_capacity(std::size_t min_elems, std::size_t elem_size,
                                MirrorMode mode) noexcept {
  if (min_elems == 0 || elem_size == 0) return 0;
  constexpr std::size_t kMaxBytes = std::size_t{1} << 40;
  std::size_t cap = 1;
  while (cap < min_elems) {
    cap <<= 1;
    if (cap * elem_size > kMaxBytes) return 0;
  }
  if (mode != MirrorMode::never) {
    const std::size_t page = MirrorRegion::page_size();
    while ((cap * elem_size) % page != 0) cap <<= 1;  // elem_size is a power of two
  }
  return cap * elem_size > kMaxBytes ? 0 : cap;
}

Result<RawStorage> RawStorage::create(std::size_t bytes, MirrorMode mode,
                                      const MirrorOptions& options) {
  RawStorage s;
  if (mode != MirrorMode::never) {
    auto region = MirrorRegion::create(bytes, options);
    if (region) {
      s.region_ = std::move(*region);
      s.data_ = s.region_.data();
      return s;
    }
    if (mode == MirrorMode::required) return unexpected(region.error(), region.context());
  }
  const std::size_t alloc = (bytes + kPlainAlign - 1) & ~(kPlainAlign - 1);
  auto* p =
      static_cast<std::byte*>(::operator new (alloc, std::align_val_t{kPlainAlign}, std::nothrow));
  if (p == nullptr) return unexpected_errno(ENOMEM, "ring storage");
  s.plain_.reset(p);
  s.data_ = p;
  return s;
}

}  // namespace ringkit::detail
