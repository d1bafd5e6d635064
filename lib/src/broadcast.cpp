// The broadcast ring's reader registry: joining (slot claim + the announcement that pairs with
// the gated writer's scan), leaving, and the writer's scan of the cursors.
#include <memory>
#include <mutex>
#include <new>

#include <ringkit/broadcast.hpp>

namespace ringkit::detail {

BroadcastRegistry::BroadcastRegistry() = default;
BroadcastRegistry::~BroadcastRegistry() = default;

BroadcastCursor* BroadcastRegistry::join(const std::atomic<std::uint64_t>& published) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  BroadcastCursor* slot = nullptr;
  Chunk* last = &head_;
  for (Chunk* c = &head_; c != nullptr && slot == nullptr; c = c->next_owner.get()) {
    last = c;
    for (BroadcastCursor& s : c->slots) {
      // (A15) pairs with (L1) in leave(): the previous holder is done with the slot.
      if (s.pos.load(std::memory_order_acquire) == kFreeCursor) {
        slot = &s;
        break;
      }
    }
  }
  if (slot == nullptr) {
    try {
      last->next_owner = std::make_unique<Chunk>();
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    // (R11) publish the initialised chunk; pairs with (A11) in min_cursor().
    last->next.store(last->next_owner.get(), std::memory_order_release);
    slot = &last->next_owner->slots[0];
  }
  // (A1) the current sequence; pairs with the writer's (G1).
  const std::uint64_t announced = published.load(std::memory_order_acquire);
  // (J2) seq_cst: announce the cursor before looking at the writer again; with (J3) this is
  // one half of the Dekker pair whose other half is the writer's (S1) then (S2).
  slot->pos.store(announced, std::memory_order_seq_cst);
  // (J3) seq_cst: a scan that missed J2 stored its sequence (S1) before this load, so starting
  // here is at or after that scan's minimum.
  const std::uint64_t start = published.load(std::memory_order_seq_cst);
  // (J4) release: moving forward is an ordinary cursor update, like (C1).
  if (start != announced) slot->pos.store(start, std::memory_order_release);
  active_.fetch_add(1, std::memory_order_relaxed);  // (X10) a count for reports only
  return slot;
}

void BroadcastRegistry::leave(BroadcastCursor* slot) noexcept {
  active_.fetch_sub(1, std::memory_order_relaxed);  // (X10)
  // (L1) release: our reads of the ring are done; pairs with (S2) in the writer's scan and
  // (A15) in the next join() that claims this slot.
  slot->pos.store(kFreeCursor, std::memory_order_release);
}

std::uint64_t BroadcastRegistry::min_cursor(std::uint64_t upper, bool gate) const noexcept {
  std::uint64_t m = upper;
  // (A11) pairs with (R11) in join(): a chunk is seen only once initialised.
  for (const Chunk* c = &head_; c != nullptr; c = c->next.load(std::memory_order_acquire)) {
    for (const BroadcastCursor& s : c->slots) {
      // (S2) pairs with (C1)/(J4)/(L1) (acquire: the readers' copies are done) and, seq_cst
      // when gating, with (J2) in join() (see BroadcastRing's design note).
      const std::uint64_t v =
          gate ? s.pos.load(std::memory_order_seq_cst) : s.pos.load(std::memory_order_acquire);
      if (v < m) m = v;
    }
  }
  return m;
}

}  // namespace ringkit::detail
