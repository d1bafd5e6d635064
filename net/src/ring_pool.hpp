// Private to net/src: the relay's per-worker free list of connection rings (see relay.hpp).
//
// Thread safety: single-owner (one per relay worker, used on its thread only).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include <sys/mman.h>

#include <ringkit/mirror_ring.hpp>
#include <ringkit/result.hpp>

namespace ringkit::net::detail {

/// A per-worker free list of rings, so that no mapping is made or unmapped on the connection
/// path once warm. Returned rings go on a LIFO hot list (pages resident, ready for reuse); the
/// pool keeps every ring it is given back, so a steady load of any size stops making rings once
/// it has made as many as it holds at its peak. Once a second (trim(), from the tick):
///   - the hot rings that stayed unused for the whole last period, beyond a small reserve, give
///     their pages back to the kernel (madvise MADV_REMOVE on the ring's shared memory: no
///     unmap) and move to the cold list: after a burst the memory goes back, while steady traffic
///     never pays for it;
///   - the cold rings that stayed unused for the whole last period, beyond kKeep rings kept in
///     all, are unmapped: the mappings (three per mirrored ring, counted against
///     vm.max_map_count) of a peak long gone are released too, but never those a load still uses.
class RingPool {
 public:
  static constexpr std::size_t kReserve = 8;
  static constexpr std::size_t kKeep = 4096;

  RingPool(std::size_t ring_size, bool mirrored) : size_(ring_size), mirrored_(mirrored) {}

  /// A ring with no data, its next write at offset 0 (from the free lists, else a new one); an
  /// error if none can be made.
  [[nodiscard]] Result<std::unique_ptr<MirrorByteRing>> take() {
    if (!hot_.empty()) {
      std::unique_ptr<MirrorByteRing> r = pop(hot_);
      hot_low_ = std::min(hot_low_, hot_.size());
      return r;
    }
    if (!cold_.empty()) {
      std::unique_ptr<MirrorByteRing> r = pop(cold_);
      cold_low_ = std::min(cold_low_, cold_.size());
      return r;
    }
    // Both lists empty: their low-water marks are 0 already (set by pop() or by trim()).
    const RingOptions ro{.mode = mirrored_ ? MirrorMode::automatic : MirrorMode::never};
    auto r = make_mirror_byte_ring(size_, ro);
    if (!r) return unexpected(r.error(), "ring for a connection (ring_size)");
    ++made_;
    return std::make_unique<MirrorByteRing>(std::move(*r));
  }
  /// Takes back a ring no operation refers to any more. Bytes still in it (a connection closed
  /// on an error with data in flight) are discarded: they must never reach the next connection.
  void give(std::unique_ptr<MirrorByteRing> r) noexcept {
    if (const std::size_t left = r->reader.size_hint(); left != 0) {
      (void)r->reader.consume(left);  // all of it is readable: cannot fail
    }
    (void)rewind(r->writer, r->reader);  // empty, both halves here: the next user starts at 0
    push(hot_, std::move(r));
  }
  /// Once a period: the pages of the hot rings, then the mappings of the cold rings (beyond
  /// kKeep in all), that were not needed since the last trim() go back to the kernel.
  void trim() noexcept {
    // Cold first: the rings about to turn cold below were in use (hot) during this period.
    const std::size_t kept = hot_.size() + cold_.size();
    const std::size_t unmap = std::min(cold_low_, kept > kKeep ? kept - kKeep : 0);
    // The bottom of each LIFO list holds the rings unused for longest.
    cold_.erase(cold_.begin(), cold_.begin() + static_cast<std::ptrdiff_t>(unmap));
    const std::size_t idle = hot_low_ > kReserve ? hot_low_ - kReserve : 0;
    std::size_t moved = 0;
    for (; moved < idle && moved < hot_.size(); ++moved) {
      MirrorByteRing& r = *hot_[moved];
      const std::span<const std::byte> map = r.reader.mapping();
      if (!map.empty()) {
        // Both views share one memfd range: removing it through the first view frees it.
        (void)::madvise(const_cast<std::byte*>(map.data()),  // NOLINT(*-const-cast)
                        map.size() / 2, MADV_REMOVE);
      }
      push(cold_, std::move(hot_[moved]));
    }
    hot_.erase(hot_.begin(), hot_.begin() + static_cast<std::ptrdiff_t>(moved));
    hot_low_ = hot_.size();
    cold_low_ = cold_.size();
  }
  /// Rings made so far (a warm pool stops making them).
  [[nodiscard]] std::size_t made() const noexcept { return made_; }
  /// Rings on the free lists now: hot (pages resident) and cold (pages given back).
  [[nodiscard]] std::size_t hot() const noexcept { return hot_.size(); }
  [[nodiscard]] std::size_t cold() const noexcept { return cold_.size(); }

 private:
  using List = std::vector<std::unique_ptr<MirrorByteRing>>;
  static std::unique_ptr<MirrorByteRing> pop(List& l) noexcept {
    std::unique_ptr<MirrorByteRing> r = std::move(l.back());
    l.pop_back();
    return r;
  }
  static void push(List& l, std::unique_ptr<MirrorByteRing> r) noexcept {
    try {
      l.push_back(std::move(r));
    } catch (const std::bad_alloc&) {  // no room in the list: the ring is unmapped instead
    }
  }
  std::size_t size_;
  bool mirrored_;
  std::size_t made_ = 0;
  std::size_t hot_low_ = 0;   // fewest hot rings since the last trim()
  std::size_t cold_low_ = 0;  // fewest cold rings since the last trim()
  List hot_, cold_;
};

}  // namespace ringkit::net::detail
