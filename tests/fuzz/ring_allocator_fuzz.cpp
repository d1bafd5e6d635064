// Model-checking fuzzer for the ring allocator: decodes the input into operations (allocate with
// a size and alignment, release, freeze, copy and drop frozen references, open/grow/commit/
// finalize/abandon an ExtBuf, destroy the allocator with buffers live and make a new one) and
// applies them to a RingAllocator and to a model of the live buffers. After every step:
//   - every live buffer still holds its pattern bytes (including buffers of destroyed stores);
//   - live regions of the current store never overlap (modulo the store size when mirrored);
//   - payloads are aligned as asked;
//   - stats() agrees with the model (live buffers, bytes in use, oldest live is one of them);
//   - results follow the contract: never_fits exactly when n > max_size(align); allocator_busy
//     exactly while an ExtBuf is open; head_in_use only when some region is live; an
//     allocation that fits max_size() succeeds on an empty store.
// Any difference is __builtin_trap(). Single-threaded.
//
// Input layout: byte 0 store size (1..16 pages) and kind (mirrored / plain), then operations:
// an opcode byte followed by its argument bytes (missing bytes are 0).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/ring_allocator.hpp>

#include "support/fuzz_input.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::ExtBuf;
using ringkit::FixedBuf;
using ringkit::FrozenBuf;
using ringkit::RingAllocator;
using ringkit_test::fill_pattern;
using ringkit_test::first_mismatch;
using Input = ringkit_test::FuzzInput;

constexpr std::size_t kHdr = 16;

struct Live {
  FixedBuf fixed;
  std::vector<FrozenBuf> frozen;  // every reference of a frozen buffer
  std::uint64_t seed = 0;
  std::size_t align = 16;
  int generation = 0;  // which store it came from
  [[nodiscard]] const std::byte* data() const {
    return fixed ? fixed.data() : frozen.front().data();
  }
  [[nodiscard]] std::span<const std::byte> bytes() const {
    return fixed ? std::span<const std::byte>(fixed.span()) : frozen.front().span();
  }
  [[nodiscard]] std::size_t region() const { return region_bytes; }
  std::size_t region_bytes = 0;  // as the allocator counts them (header included)
};

class Model {
 public:
  explicit Model(Input& in) : in_(in) {
    const std::uint8_t b = in.u8();
    pages_ = 1 + (b & 15);
    mode_ = (b & 16) != 0 ? ringkit::MirrorMode::required : ringkit::MirrorMode::never;
    recreate();
  }

  [[nodiscard]] bool ok() const { return alloc_.capacity() != 0; }

  void step() {
    const std::uint8_t op = in_.u8() % 12;
    switch (op) {
      case 0:
      case 1:
      case 2:
        allocate();
        break;
      case 3:
      case 4:
        release();
        break;
      case 5:
        freeze();
        break;
      case 6:
        share_or_drop();
        break;
      case 7:
        extend();
        break;
      case 8:
        ext_write();
        break;
      case 9:
        ext_close();
        break;
      case 10:
        if (in_.u8() < 16) recreate();
        break;
      default:
        release_all_then_max();
        break;
    }
    check();
  }

 private:
  [[nodiscard]] std::size_t size_arg() {
    const std::uint16_t v = in_.u16();
    // Mostly small, sometimes around the store size (never_fits at the edge).
    return (v & 0x8000) != 0 ? alloc_.capacity() - 64 + (v & 127) : v & 0x1fff;
  }

  void recreate() {
    if (ext_) ext_.reset();
    ++generation_;
    auto made = RingAllocator::create(pages_ * ringkit::MirrorRegion::page_size(), {.mode = mode_});
    if (!made) return;  // e.g. no memfd: nothing to test
    alloc_ = std::move(*made);
    FixedBuf probe;
    RINGKIT_FUZZ_CHECK(alloc_.allocate(1, probe) == Errc::ok);
    base_ = probe.data() - kHdr;
  }

  void allocate() {
    const std::size_t n = size_arg();
    const std::size_t align = std::size_t{1} << (in_.u8() % 14);  // 1 .. 8192
    Live l;
    const Errc e = alloc_.allocate(n, l.fixed, align);
    const bool bad_align = align > 4096;
    const std::size_t max = alloc_.max_size(align);
    if (ext_) {
      RINGKIT_FUZZ_CHECK(e == Errc::allocator_busy);
      return;
    }
    if (bad_align) {
      RINGKIT_FUZZ_CHECK(e == Errc::invalid_argument);
      return;
    }
    if (n > max || max == 0) {
      RINGKIT_FUZZ_CHECK(e == Errc::never_fits);
      return;
    }
    RINGKIT_FUZZ_CHECK(e == Errc::ok || e == Errc::head_in_use);
    if (e == Errc::head_in_use) {
      RINGKIT_FUZZ_CHECK(current_live() > 0);
      return;
    }
    RINGKIT_FUZZ_CHECK(static_cast<bool>(l.fixed));
    l.seed = next_seed_++;
    l.align = std::max<std::size_t>(align, 16);
    l.generation = generation_;
    RINGKIT_FUZZ_CHECK(l.fixed.capacity() >= n);
    const std::size_t k = std::min(n, l.fixed.capacity());
    fill_pattern(l.seed, 0, l.fixed.writable().first(k));
    RINGKIT_FUZZ_CHECK(l.fixed.commit(k) == Errc::ok);
    l.region_bytes = l.fixed.capacity() + kHdr;
    live_.push_back(std::move(l));
  }

  std::size_t pick() { return live_.empty() ? 0 : in_.u8() % live_.size(); }

  void release() {
    if (live_.empty()) return;
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(pick()));
  }

  void freeze() {
    if (live_.empty()) return;
    Live& l = live_[pick()];
    if (!l.fixed) return;
    l.frozen.push_back(std::move(l.fixed).freeze());
    RINGKIT_FUZZ_CHECK(l.frozen.back().use_count() == 1);
  }

  void share_or_drop() {
    if (live_.empty()) return;
    const std::size_t i = pick();
    Live& l = live_[i];
    if (l.frozen.empty()) return;
    if ((in_.u8() & 1) != 0 && l.frozen.size() < 8) {
      l.frozen.push_back(l.frozen.front());
    } else {
      l.frozen.pop_back();
      if (l.frozen.empty()) live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    RINGKIT_FUZZ_CHECK(l.frozen.front().use_count() == l.frozen.size());
  }

  void extend() {
    const std::size_t n = size_arg();
    ExtBuf e;
    const Errc r = alloc_.extend(e, n);
    if (ext_) {
      RINGKIT_FUZZ_CHECK(r == Errc::allocator_busy);
      return;
    }
    if (n > alloc_.max_size()) {
      RINGKIT_FUZZ_CHECK(r == Errc::never_fits);
      return;
    }
    RINGKIT_FUZZ_CHECK(r == Errc::ok || r == Errc::head_in_use);
    if (r == Errc::head_in_use) {
      RINGKIT_FUZZ_CHECK(current_live() > 0);
      return;
    }
    RINGKIT_FUZZ_CHECK(e.capacity() >= n);
    ext_ = std::move(e);
    ext_seed_ = next_seed_++;
  }

  void ext_write() {
    if (!ext_) return;
    const std::size_t k = in_.u16() & 0x1fff;
    const std::size_t before = ext_.size();
    const bool in_place = (in_.u8() & 1) != 0;
    Errc r = Errc::ok;
    if (in_place) {
      r = ext_.reserve(k);
      if (r == Errc::ok) {
        RINGKIT_FUZZ_CHECK(ext_.spare() >= k);
        fill_pattern(ext_seed_, before, ext_.writable().first(k));
        r = ext_.commit(k);
      }
    } else {
      scratch_.resize(k);
      fill_pattern(ext_seed_, before, scratch_);
      r = ext_.write(scratch_);
    }
    if (r != Errc::ok) {
      RINGKIT_FUZZ_CHECK(r == Errc::head_in_use || r == Errc::never_fits || r == Errc::closed);
      RINGKIT_FUZZ_CHECK(ext_.size() == before);
      if (r == Errc::never_fits) RINGKIT_FUZZ_CHECK(before + k > alloc_.max_size());
    } else {
      RINGKIT_FUZZ_CHECK(ext_.size() == before + k);
    }
    RINGKIT_FUZZ_CHECK(!first_mismatch(ext_seed_, 0, ext_.span()));
    RINGKIT_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(ext_.data()) % 16 == 0);
  }

  void ext_close() {
    if (!ext_) return;
    if ((in_.u8() & 1) != 0) {
      ext_.reset();
      RINGKIT_FUZZ_CHECK(!alloc_.busy());
      return;
    }
    const std::size_t size = ext_.size();
    Live l;
    l.fixed = std::move(ext_).finalize();
    RINGKIT_FUZZ_CHECK(!alloc_.busy());
    RINGKIT_FUZZ_CHECK(l.fixed.size() == size);
    l.seed = ext_seed_;
    l.generation = generation_;
    l.region_bytes = l.fixed.capacity() + kHdr;
    live_.push_back(std::move(l));
  }

  void release_all_then_max() {
    if (in_.u8() < 128) return;
    if (ext_) ext_.reset();
    std::erase_if(live_, [&](const Live& l) { return l.generation == generation_; });
    FixedBuf b;
    RINGKIT_FUZZ_CHECK(alloc_.allocate(alloc_.max_size(), b) == Errc::ok);
    RINGKIT_FUZZ_CHECK(alloc_.stats().live_buffers == 1);
  }

  [[nodiscard]] std::size_t current_live() const {
    std::size_t n = ext_ ? 1 : 0;
    for (const Live& l : live_) n += l.generation == generation_ ? 1 : 0;
    return n;
  }

  void check() {
    const std::size_t cap = alloc_.capacity();
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // offsets in the current store
    std::size_t bytes = 0;
    for (const Live& l : live_) {
      RINGKIT_FUZZ_CHECK(!first_mismatch(l.seed, 0, l.bytes()));
      if (l.generation != generation_) continue;
      RINGKIT_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(l.data()) % l.align == 0);
      const auto off = static_cast<std::size_t>(l.data() - kHdr - base_);
      RINGKIT_FUZZ_CHECK(off < cap);
      ranges.emplace_back(off, l.region());
      bytes += l.region();
    }
    if (ext_) {
      const auto off = static_cast<std::size_t>(ext_.data() - kHdr - base_);
      ranges.emplace_back(off, ext_.capacity() + kHdr);
      bytes += ext_.capacity() + kHdr;
    }
    // No two live regions overlap (a region may run past the end of a mirrored store).
    std::vector<std::pair<std::size_t, std::size_t>> flat;
    for (auto [off, len] : ranges) {
      RINGKIT_FUZZ_CHECK(len <= cap);
      if (off + len > cap) {
        RINGKIT_FUZZ_CHECK(alloc_.mirrored());
        flat.emplace_back(off, cap);
        flat.emplace_back(0, off + len - cap);
      } else {
        flat.emplace_back(off, off + len);
      }
    }
    std::sort(flat.begin(), flat.end());
    for (std::size_t i = 1; i < flat.size(); ++i) {
      RINGKIT_FUZZ_CHECK(flat[i - 1].second <= flat[i].first);
    }
    const auto st = alloc_.stats();
    RINGKIT_FUZZ_CHECK(st.live_buffers == ranges.size());
    // Padding for alignment is a free region, so the allocator's count excludes it too.
    RINGKIT_FUZZ_CHECK(st.bytes_in_use == bytes);
    RINGKIT_FUZZ_CHECK(alloc_.busy() == static_cast<bool>(ext_));
    if (st.oldest_live) {
      RINGKIT_FUZZ_CHECK(std::any_of(ranges.begin(), ranges.end(),
                                     [&](auto r) { return r.first == st.oldest_live->offset; }));
    } else {
      RINGKIT_FUZZ_CHECK(ranges.empty());
    }
  }

  Input& in_;
  std::size_t pages_ = 1;
  ringkit::MirrorMode mode_ = ringkit::MirrorMode::never;
  RingAllocator alloc_;
  std::byte* base_ = nullptr;
  int generation_ = 0;
  std::deque<Live> live_;
  ExtBuf ext_;
  std::uint64_t ext_seed_ = 0;
  std::uint64_t next_seed_ = 1;
  std::vector<std::byte> scratch_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Model m(in);
  if (!m.ok()) return 0;
  for (int steps = 0; in.more() && steps < 4096; ++steps) m.step();
  return 0;
}
