// MessageStore: storage chosen by size (event-pool slot, ring-allocator buffer, XXL heap).
#include <algorithm>
#include <cstring>

#include <ringkit/message_store.hpp>

namespace ringkit {

Result<MessageRef> MessageWriter::publish(std::size_t n) && noexcept {
  if (ev_) {
    if (n > ev_.writable().size()) return unexpected(Errc::over_commit, "MessageWriter::publish");
    auto ref = std::move(ev_).publish(n);
    if (!ref) return unexpected(ref.error(), ref.context());
    return MessageRef(std::move(*ref));
  }
  if (ring_) {
    if (const Errc c = fb_.commit(n); c != Errc::ok) return unexpected(c, "MessageWriter::publish");
    ring_ = false;
    return MessageRef(std::move(fb_).freeze());
  }
  return unexpected(Errc::invalid_argument, "MessageWriter::publish (empty writer)");
}

Result<MessageStore> MessageStore::create(const MessageStoreOptions& options) {
  auto pools = EventPools::create(options.pools);
  if (!pools) return unexpected(pools.error(), pools.context());
  MessageStore s;
  s.pools_ = std::move(*pools);
  if (options.ring_bytes != 0) {
    auto ring = RingAllocator::create(options.ring_bytes, {.mode = options.ring_mode});
    if (!ring) return unexpected(ring.error(), ring.context());
    s.ring_ = std::move(*ring);
    s.has_ring_ = true;
  }
  return s;
}

std::size_t MessageStore::max_message() const noexcept {
  std::size_t m = kClassBytes[static_cast<std::size_t>(SizeClass::xl)];
  if (has_ring_) m = std::max(m, ring_.max_size());
  if (pools_.valid() && pools_.config().xxl_enabled) {
    m = std::max<std::size_t>(m, pools_.config().xxl_max_bytes);
  }
  return m;
}

Errc MessageStore::count_failure(Errc e) noexcept {
  if (is_retryable(e)) {
    ++stats_.retryable_failures;
  } else {
    ++stats_.final_failures;
  }
  return e;
}

Result<MessageWriter> MessageStore::allocate(std::size_t n, std::uint32_t type) noexcept {
  if (!pools_.valid()) return unexpected(Errc::invalid_argument, "MessageStore (empty)");
  const bool small = n <= kClassBytes[static_cast<std::size_t>(SizeClass::xl)];
  Errc ring_err = Errc::never_fits;
  if (!small && has_ring_) {
    FixedBuf buf;
    ring_err = ring_.allocate(n, buf);
    if (ring_err == Errc::ok) {
      ++stats_.ring_messages;
      return MessageWriter(std::move(buf));
    }
  }
  if (!small && !pools_.config().xxl_enabled) {
    // The ring could not take it and the heap is off: the ring's reason (retry after releases,
    // or never), too_large when there is no ring at all.
    const Errc e = has_ring_ ? ring_err : Errc::too_large;
    return unexpected(count_failure(e), "MessageStore::allocate");
  }
  auto w = pools_.allocate_uninit(n, type);
  if (!w) {
    Errc e = w.error().category() == error_category() ? static_cast<Errc>(w.error().value())
                                                      : Errc::too_large;
    // A large message the heap refused still fits the ring later if the ring said "retry".
    if (!small && is_retryable(ring_err)) e = ring_err;
    return unexpected(count_failure(e), "MessageStore::allocate");
  }
  ++(small ? stats_.pool_messages : stats_.heap_messages);
  return MessageWriter(std::move(*w));
}

Result<MessageRef> MessageStore::copy(std::span<const std::byte> bytes,
                                      std::uint32_t type) noexcept {
  auto w = allocate(bytes.size(), type);
  if (!w) return unexpected(w.error(), w.context());
  if (!bytes.empty()) std::memcpy(w->writable().data(), bytes.data(), bytes.size());
  return std::move(*w).publish(bytes.size());
}

}  // namespace ringkit
