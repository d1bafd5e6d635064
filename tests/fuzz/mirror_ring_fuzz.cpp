// Differential fuzzer of the mirrored byte ring (ringkit/mirror_ring.hpp) against a
// std::deque<std::byte> oracle (docs/conventions.md rule 18).
//
// Input: byte 0 picks the capacity (bit 0: 4096 or 8192) and the mode (bit 1: automatic or
// never); byte 1 puts the initial position near 2^64 (0: start at 0). Then 5-byte operations:
// opcode, a (u16), b (u16). Operations: write, writable()+partial commit, over-commit, read,
// peek, consume, over-consume, io_slices on the reader and on the writer with a chosen callback
// return (negative, over-report, partial, all), readable()/writable_segments() views, and
// moving a half out and back. After every step the whole content (peek), the sizes and both
// positions are compared with the oracle; any mismatch is __builtin_trap().
#include <ringkit/mirror_ring.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <utility>
#include <vector>

#include <sys/uio.h>

#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/segments.hpp>

#include "support/fuzz_input.hpp"
#include "support/pattern.hpp"

namespace {

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

using ringkit::Errc;
using ringkit::MirrorMode;

using Input = ringkit_test::FuzzInput;

/// The byte stream written into the ring: byte k of everything ever generated.
class Source {
 public:
  std::byte next() { return ringkit_test::pattern_byte(0, n_++); }
  std::vector<std::byte> take(std::size_t n) {
    std::vector<std::byte> v(n);
    for (auto& b : v) b = next();
    return v;
  }

 private:
  std::uint64_t n_ = 0;
};

struct State {
  ringkit::MirrorByteWriter w;
  ringkit::MirrorByteReader r;
  std::deque<std::byte> oracle;
  std::size_t cap = 0;
  bool mirrored = false;
  std::uint64_t wpos = 0;  // expected writer position
  std::uint64_t rpos = 0;  // expected reader position
  Source src;
  std::vector<std::byte> scratch;  // compare()'s peek buffer, capacity() bytes

  [[nodiscard]] std::size_t size() const { return oracle.size(); }
  [[nodiscard]] std::size_t free() const { return cap - oracle.size(); }
  [[nodiscard]] std::size_t widx() const { return static_cast<std::size_t>(wpos) & (cap - 1); }
  [[nodiscard]] std::size_t ridx() const { return static_cast<std::size_t>(rpos) & (cap - 1); }

  void pushed(std::span<const std::byte> bytes) {
    oracle.insert(oracle.end(), bytes.begin(), bytes.end());
    wpos += bytes.size();
  }
  void popped(std::size_t n) {
    oracle.erase(oracle.begin(), oracle.begin() + static_cast<std::ptrdiff_t>(n));
    rpos += n;
  }
  /// `got` equals the first got.size() bytes of the oracle.
  [[nodiscard]] bool front_is(std::span<const std::byte> got) const {
    return got.size() <= oracle.size() && std::equal(got.begin(), got.end(), oracle.begin());
  }
};

/// How many iovecs a region of `n` bytes starting at index `idx` needs.
std::size_t parts(const State& s, std::size_t idx, std::size_t n) {
  if (n == 0) return 0;
  if (s.mirrored) return 1;
  return idx + n > s.cap ? 2 : 1;
}

/// What an io_slices callback returns, chosen from `a` and `b`.
std::ptrdiff_t chosen_return(std::uint16_t a, std::uint16_t b, std::size_t total) {
  switch (a % 5) {
    case 0:
      return -1 - static_cast<std::ptrdiff_t>(b % 3);  // error
    case 1:
      return static_cast<std::ptrdiff_t>(total + 1 + b % 100);  // over-report
    case 2:
      return 0;
    case 3:
      return static_cast<std::ptrdiff_t>(total);
    default:
      return static_cast<std::ptrdiff_t>(b % (total + 1));  // partial
  }
}

void step(State& s, std::uint8_t op, std::uint16_t a, std::uint16_t b) {
  const std::size_t n = a % (s.cap + s.cap / 2 + 1);  // sizes up to 1.5 x capacity
  switch (op % 12) {
    case 0: {  // write
      const auto bytes = s.src.take(n);
      const std::size_t got = s.w.write(bytes);
      FUZZ_CHECK(got == std::min(n, s.free()));
      s.pushed(std::span(bytes).first(got));
      break;
    }
    case 1: {  // writable() + partial commit
      const std::span<std::byte> v = s.w.writable();
      FUZZ_CHECK(v.empty() == (s.free() == 0));
      FUZZ_CHECK(v.size() <= (s.mirrored ? s.free() : std::min(s.free(), s.cap - s.widx())));
      const std::size_t k = v.empty() ? 0 : b % (v.size() + 1);
      const auto bytes = s.src.take(k);
      if (k != 0) std::memcpy(v.data(), bytes.data(), k);
      FUZZ_CHECK(s.w.commit(k) == Errc::ok);
      s.pushed(bytes);
      break;
    }
    case 2:  // over-commit: nothing published
      FUZZ_CHECK(s.w.commit(s.free() + 1 + b % 5000) == Errc::over_commit);
      break;
    case 3: {  // read
      std::vector<std::byte> out(n);
      const std::size_t got = s.r.read(out);
      FUZZ_CHECK(got == std::min(n, s.size()));
      FUZZ_CHECK(s.front_is(std::span(out).first(got)));
      s.popped(got);
      break;
    }
    case 4: {  // peek
      std::vector<std::byte> out(n);
      const std::size_t got = s.r.peek(out);
      FUZZ_CHECK(got == std::min(n, s.size()));
      FUZZ_CHECK(s.front_is(std::span(out).first(got)));
      break;
    }
    case 5: {  // consume
      const std::size_t k = b % (s.size() + 1);
      FUZZ_CHECK(s.r.consume(k) == Errc::ok);
      s.popped(k);
      break;
    }
    case 6:  // over-consume: nothing released
      FUZZ_CHECK(s.r.consume(s.size() + 1 + b % 5000) == Errc::over_consume);
      break;
    case 7: {  // reader io_slices with a chosen return
      bool called = false;
      std::ptrdiff_t ret = 0;
      const ringkit::SliceResult res = s.r.io_slices([&](std::span<iovec> iov, std::size_t total) {
        called = true;
        FUZZ_CHECK(total == s.size());
        FUZZ_CHECK(iov.size() == parts(s, s.ridx(), s.size()));
        std::size_t off = 0;
        for (const iovec& e : iov) {
          FUZZ_CHECK(e.iov_len != 0);
          const auto* p = static_cast<const std::byte*>(e.iov_base);
          FUZZ_CHECK(
              std::equal(p, p + e.iov_len, s.oracle.begin() + static_cast<std::ptrdiff_t>(off)));
          off += e.iov_len;
        }
        FUZZ_CHECK(off == total);
        ret = chosen_return(a, b, total);
        return ret;
      });
      if (s.size() == 0) {
        FUZZ_CHECK(!called && res.errc == Errc::ring_empty && res.bytes == 0);
      } else if (ret < 0) {
        FUZZ_CHECK(res.errc == Errc::callback_error && res.bytes == 0);
      } else if (static_cast<std::size_t>(ret) > s.size()) {
        FUZZ_CHECK(res.errc == Errc::over_report && res.bytes == 0);
      } else {
        FUZZ_CHECK(res.errc == Errc::ok && res.bytes == static_cast<std::size_t>(ret));
        s.popped(res.bytes);
      }
      break;
    }
    case 8: {  // writer io_slices: the callback fills every offered byte, reports a chosen count
      bool called = false;
      std::ptrdiff_t ret = 0;
      std::vector<std::byte> incoming;
      const std::size_t free = s.free();
      const ringkit::SliceResult res = s.w.io_slices([&](std::span<iovec> iov, std::size_t total) {
        called = true;
        FUZZ_CHECK(total == free);
        FUZZ_CHECK(iov.size() == parts(s, s.widx(), free));
        incoming = s.src.take(total);
        std::size_t off = 0;
        for (const iovec& e : iov) {
          FUZZ_CHECK(e.iov_len != 0);
          std::memcpy(e.iov_base, incoming.data() + off, e.iov_len);
          off += e.iov_len;
        }
        FUZZ_CHECK(off == total);
        ret = chosen_return(a, b, total);
        return ret;
      });
      if (free == 0) {
        FUZZ_CHECK(!called && res.errc == Errc::ring_full && res.bytes == 0);
      } else if (ret < 0) {
        FUZZ_CHECK(res.errc == Errc::callback_error && res.bytes == 0);
      } else if (static_cast<std::size_t>(ret) > free) {
        FUZZ_CHECK(res.errc == Errc::over_report && res.bytes == 0);
      } else {
        FUZZ_CHECK(res.errc == Errc::ok && res.bytes == static_cast<std::size_t>(ret));
        s.pushed(std::span(incoming).first(res.bytes));
      }
      break;
    }
    case 9: {  // readable() and readable_segments()
      const std::span<const std::byte> v = s.r.readable();
      FUZZ_CHECK(v.empty() == (s.size() == 0));
      FUZZ_CHECK(v.size() <= (s.mirrored ? s.size() : std::min(s.size(), s.cap - s.ridx())));
      FUZZ_CHECK(s.front_is(v));
      const ringkit::ConstSegments seg = s.r.readable_segments();
      FUZZ_CHECK(seg.empty() == (s.size() == 0));
      FUZZ_CHECK(seg.bytes() <= s.size());
      FUZZ_CHECK(seg.count() <= (s.mirrored ? 1U : 2U));
      std::size_t off = 0;
      for (const auto& part : seg) {
        FUZZ_CHECK(!part.empty());
        FUZZ_CHECK(std::equal(part.begin(), part.end(),
                              s.oracle.begin() + static_cast<std::ptrdiff_t>(off)));
        off += part.size();
      }
      break;
    }
    case 10: {  // writable_segments(): fill some of it through the segments, commit
      const ringkit::MutableSegments seg = s.w.writable_segments();
      FUZZ_CHECK(seg.empty() == (s.free() == 0));
      FUZZ_CHECK(seg.bytes() <= s.free());
      FUZZ_CHECK(seg.count() <= (s.mirrored ? 1U : 2U));
      const std::size_t k = b % (seg.bytes() + 1);
      const auto bytes = s.src.take(k);
      std::size_t off = 0;
      for (const auto& part : seg) {
        const std::size_t m = std::min(part.size(), k - off);
        if (m != 0) std::memcpy(part.data(), bytes.data() + off, m);
        off += m;
      }
      FUZZ_CHECK(s.w.commit(k) == Errc::ok);
      s.pushed(bytes);
      break;
    }
    default: {  // move a half out and back (a = which half)
      if (a % 2 == 0) {
        ringkit::MirrorByteWriter tmp(std::move(s.w));
        FUZZ_CHECK(!s.w.valid() && s.w.writable().empty() && s.w.commit(1) == Errc::over_commit);
        s.w = std::move(tmp);
      } else {
        ringkit::MirrorByteReader tmp(std::move(s.r));
        FUZZ_CHECK(!s.r.valid() && s.r.readable().empty() && s.r.consume(1) == Errc::over_consume);
        s.r = std::move(tmp);
      }
      FUZZ_CHECK(s.w.valid() && s.r.valid());
      FUZZ_CHECK(s.w.mirrored() == s.mirrored && s.r.mirrored() == s.mirrored);
    }
  }
}

/// Compares everything observable with the oracle.
void compare(State& s) {
  FUZZ_CHECK(s.w.position() == s.wpos);
  FUZZ_CHECK(s.r.position() == s.rpos);
  FUZZ_CHECK(s.w.size_hint() == s.size());
  FUZZ_CHECK(s.r.size_hint() == s.size());
  FUZZ_CHECK(s.w.peer_alive() && s.r.peer_alive());
  const std::size_t got = s.r.peek(s.scratch);
  FUZZ_CHECK(got == s.size());
  FUZZ_CHECK(std::equal(s.scratch.begin(), s.scratch.begin() + static_cast<std::ptrdiff_t>(got),
                        s.oracle.begin(), s.oracle.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::uint8_t cfg = in.u8();
  const std::uint8_t near = in.u8();
  const std::size_t cap = (cfg & 1) != 0 ? 8192 : 4096;
  const MirrorMode mode = (cfg & 2) != 0 ? MirrorMode::never : MirrorMode::automatic;
  // Up to ~25 KiB before the counter wrap: a few ring's worth of traffic reaches it.
  const std::uint64_t start =
      near == 0 ? 0 : std::uint64_t{0} - (std::uint64_t{near} * 97 + (cfg >> 2));

  auto ring = ringkit::make_mirror_byte_ring(
      cap, ringkit::RingOptions{.mode = mode, .initial_position = start});
  FUZZ_CHECK(ring.has_value());
  State s;
  s.w = std::move(ring->writer);
  s.r = std::move(ring->reader);
  s.cap = cap;
  s.scratch.resize(cap);
  s.mirrored = s.w.mirrored();
  s.wpos = s.rpos = start;
  FUZZ_CHECK(s.r.mirrored() == s.mirrored);
  FUZZ_CHECK(mode == MirrorMode::automatic || !s.mirrored);
  FUZZ_CHECK(s.w.capacity() == cap && s.r.capacity() == cap);
  compare(s);

  for (int steps = 0; in.more() && steps < 4096; ++steps) {
    const std::uint8_t op = in.u8();
    const std::uint16_t a = in.u16();
    const std::uint16_t b = in.u16();
    step(s, op, a, b);
    compare(s);
  }
  return 0;
}
