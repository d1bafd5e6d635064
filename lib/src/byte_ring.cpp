// Byte ring creation: validation and storage (plain page-aligned, or a mirror region).
#include <cerrno>
#include <new>

#include <ringkit/byte_ring.hpp>
#include <ringkit/mirror_ring.hpp>

namespace ringkit {
namespace detail {

void AlignedStorageDelete::operator()(std::byte* p) const noexcept {
  ::operator delete (p, std::align_val_t{kStorageAlign});
}

Result<std::shared_ptr<ByteRingCore>> make_byte_ring_core(std::size_t capacity, std::uint64_t start,
                                                          const MirrorMode* mode,
                                                          const MirrorOptions& mo) {
  if (capacity == 0 || (capacity & (capacity - 1)) != 0 || capacity > kMaxByteRingCapacity) {
    return unexpected(Errc::invalid_capacity, "byte ring capacity");
  }
  std::shared_ptr<ByteRingCore> core;
  try {
    core = std::make_shared<ByteRingCore>();
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "byte ring core");
  }
  core->capacity = capacity;
  core->tail.store(start, std::memory_order_relaxed);  // (X5) the halves are not shared yet
  core->head.store(start, std::memory_order_relaxed);  // (X5)

  if (mode != nullptr && *mode != MirrorMode::never) {
    if (capacity % MirrorRegion::page_size() != 0) {
      return unexpected(Errc::not_page_multiple, "mirrored ring capacity");
    }
    auto region = MirrorRegion::create(capacity, mo);
    if (region) {
      core->region = std::move(*region);
      core->data = core->region.data();
      core->mirrored = true;
      return core;
    }
    if (*mode == MirrorMode::required) return unexpected(region.error(), region.context());
    // automatic: fall through to the plain two-segment layout.
  }
  // Round the allocation up to whole pages so small rings still get page-aligned, unshared pages.
  const std::size_t alloc = (capacity + kStorageAlign - 1) & ~(kStorageAlign - 1);
  auto* raw = static_cast<std::byte*>(
      ::operator new (alloc, std::align_val_t{kStorageAlign}, std::nothrow));
  if (raw == nullptr) return unexpected_errno(ENOMEM, "byte ring storage");
  core->storage.reset(raw);
  core->data = raw;
  return core;
}

}  // namespace detail

Result<ByteRing> make_byte_ring(std::size_t capacity, const ByteRingOptions& options) {
  auto core = detail::make_byte_ring_core(capacity, options.initial_position, nullptr, {});
  if (!core) return unexpected(core.error(), core.context());
  // The caller hands the halves to other threads (thread creation, a queue...), which provides
  // the happens-before edge for the relaxed initial stores (X5).
  ByteRing ring{ByteWriter(*core), ByteReader(std::move(*core))};
  return ring;
}

Result<MirrorByteRing> make_mirror_byte_ring(std::size_t capacity, const RingOptions& options) {
  auto core = detail::make_byte_ring_core(capacity, options.initial_position, &options.mode,
                                          options.region);
  if (!core) return unexpected(core.error(), core.context());
  MirrorByteRing ring{MirrorByteWriter(*core), MirrorByteReader(std::move(*core))};
  return ring;
}

}  // namespace ringkit
