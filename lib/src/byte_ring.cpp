// make_byte_ring(): allocation and validation for the split-halves byte ring.
#include <cerrno>
#include <new>

#include <ringkit/byte_ring.hpp>

namespace ringkit {
namespace detail {

void AlignedStorageDelete::operator()(std::byte* p) const noexcept {
  ::operator delete (p, std::align_val_t{kStorageAlign});
}

}  // namespace detail

Result<ByteRing> make_byte_ring(std::size_t capacity, const ByteRingOptions& options) {
  if (capacity == 0 || (capacity & (capacity - 1)) != 0 || capacity > kMaxByteRingCapacity) {
    return unexpected(Errc::invalid_capacity);
  }
  // Round the allocation up to whole pages so small rings still get page-aligned, unshared pages.
  const std::size_t alloc = (capacity + kStorageAlign - 1) & ~(kStorageAlign - 1);
  auto* raw = static_cast<std::byte*>(
      ::operator new (alloc, std::align_val_t{kStorageAlign}, std::nothrow));
  if (raw == nullptr) return unexpected_errno(ENOMEM);
  detail::AlignedStorage storage(raw);

  std::shared_ptr<detail::ByteRingCore> core;
  try {
    core = std::make_shared<detail::ByteRingCore>();
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM);
  }
  core->storage = std::move(storage);
  core->capacity = capacity;
  core->tail.store(options.initial_position, std::memory_order_relaxed);
  core->head.store(options.initial_position, std::memory_order_relaxed);
  // The halves are handed to other threads by the caller (thread creation or a queue), which
  // provides the happens-before edge for these relaxed initial stores.
  ByteRing ring{ByteWriter(core, options.initial_position),
                ByteReader(std::move(core), options.initial_position)};
  return ring;
}

}  // namespace ringkit
