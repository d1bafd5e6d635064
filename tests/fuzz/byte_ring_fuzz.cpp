// Differential fuzzer for the byte ring (docs/conventions.md rule 18): decodes the input into
// operations and applies each to a ringkit byte ring and to a std::deque<std::byte> oracle,
// comparing results, counters and contents after every step; any difference is __builtin_trap().
//
// Input layout:
//   byte 0      ring kind (two-segment, mirrored, mirrored fallback) and capacity (1 .. 4096,
//               a power of two; mirrored rings use one or two pages)
//   byte 1      initial position: near 2^64 (so the counters wrap within the input) or small
//   byte 2      seed of the data written
//   then        operations: an opcode byte followed by its argument bytes (missing bytes are 0)
//
// Operations: write n; writable() + partial commit; commit too much; read n; peek n; consume n;
// consume too much; io_slices on the writer or the reader with a callback that reports a chosen
// value (partial, 0, negative, more than offered); look at the views; move a half away and back;
// write through the raw-pointer overload; close a half (the other half carries on).
//
// Views (readable_segments()/writable_segments()) must show exactly the oracle's data / free
// space; readable()/writable() the same, or its part before the wrap for the mirrored ring's
// plain fallback; io_slices() must offer exactly everything.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <span>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <sys/uio.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/segments.hpp>

#include "support/fuzz_input.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::ConstSegments;
using ringkit::Errc;
using ringkit::MutableSegments;
using ringkit::segments_of;
using ringkit::SliceResult;

using Input = ringkit_test::FuzzInput;

template <class Ring>
class Differential {
 public:
  Differential(Ring& ring, std::size_t cap, std::uint64_t start, std::uint64_t seed, bool mirrored,
               bool views_end_at_wrap)
      : ring_(ring),
        cap_(cap),
        wpos_(start),
        rpos_(start),
        seed_(seed),
        mirrored_(mirrored),
        views_end_at_wrap_(views_end_at_wrap),
        scratch_(2 * cap + 8) {
    base_ = ring.writer.writable_segments().first().data() -
            (static_cast<std::size_t>(start) & (cap - 1));
    check();
  }

  void step(Input& in) {
    const std::uint8_t op = in.u8() % 32;
    switch (op) {
      case 30:
        close_writer();
        break;
      case 31:
        close_reader();
        break;
      default:
        switch (op % 13) {
          case 0:
            write(in.u16() % (2 * cap_ + 3));
            break;
          case 1:
            view_commit(in.u16());
            break;
          case 2:
            over_commit(in.u16());
            break;
          case 3:
            read(in.u16() % (2 * cap_ + 3));
            break;
          case 4:
            peek(in.u16() % (2 * cap_ + 3));
            break;
          case 5:
            consume(in.u16());
            break;
          case 6:
            over_consume(in.u16());
            break;
          case 7:
            writer_slices(in.u8(), in.u16());
            break;
          case 8:
            reader_slices(in.u8(), in.u16());
            break;
          case 9:
            look();
            break;
          case 10:
            move_round_trip(in.u8());
            break;
          case 11:
            write_raw(in.u16() % (2 * cap_ + 3));
            break;
          default:
            commit_zero_and_consume_zero();
            break;
        }
    }
    check();
  }

  /// Drains the reader and compares everything that is left.
  void finish() {
    if (!reader_open_) return;
    std::vector<std::byte> rest(oracle_.size() + 1);
    const std::size_t n = ring_.reader.read(std::span<std::byte>(rest));
    RINGKIT_FUZZ_CHECK(n == oracle_.size());
    for (std::size_t i = 0; i < n; ++i) RINGKIT_FUZZ_CHECK(rest[i] == oracle_[i]);
    rpos_ += n;
    oracle_.clear();
    check();
  }

 private:
  [[nodiscard]] std::size_t size() const { return oracle_.size(); }
  [[nodiscard]] std::size_t free() const { return cap_ - oracle_.size(); }

  void append(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      oracle_.push_back(ringkit_test::pattern_byte(seed_, produced_ + i));
    produced_ += n;
    wpos_ += n;
  }
  void drop(std::size_t n) {
    oracle_.erase(oracle_.begin(), oracle_.begin() + static_cast<std::ptrdiff_t>(n));
    rpos_ += n;
  }
  void expect_front(std::span<const std::byte> got) {
    RINGKIT_FUZZ_CHECK(got.size() <= oracle_.size());
    for (std::size_t i = 0; i < got.size(); ++i) RINGKIT_FUZZ_CHECK(got[i] == oracle_[i]);
  }

  void write(std::size_t n) {
    const auto src = std::span(scratch_).first(n);
    ringkit_test::fill_pattern(seed_, produced_, src);
    const std::size_t did = ring_.writer.write(std::span<const std::byte>(src));
    RINGKIT_FUZZ_CHECK(did == (writer_open_ ? std::min(n, free()) : 0));
    append(did);
  }

  void write_raw(std::size_t n) {
    ringkit_test::fill_pattern(seed_, produced_, std::span(scratch_).first(n));
    const std::size_t did = ring_.writer.write(scratch_.data(), n);
    RINGKIT_FUZZ_CHECK(did == (writer_open_ ? std::min(n, free()) : 0));
    append(did);
  }

  void view_commit(std::uint16_t arg) {
    const MutableSegments all = ring_.writer.writable_segments();
    const MutableSegments view = segments_of(ring_.writer.writable());
    check_free_view(all);
    check_view_shape(all, view);
    std::uint64_t off = produced_;
    for (const auto& part : view) {
      ringkit_test::fill_pattern(seed_, off, part);
      off += part.size();
    }
    const std::size_t k = arg % (view.bytes() + 1);
    RINGKIT_FUZZ_CHECK(ring_.writer.commit(k) == Errc::ok);
    append(k);
  }

  void over_commit(std::uint16_t arg) {
    const std::size_t n = (arg & 1) != 0 ? SIZE_MAX - arg : free() + 1 + arg;
    const std::size_t real_free = writer_open_ ? free() : 0;
    RINGKIT_FUZZ_CHECK(n > real_free);
    RINGKIT_FUZZ_CHECK(ring_.writer.commit(n) == Errc::over_commit);
  }

  void read(std::size_t n) {
    const auto dst = std::span(scratch_).first(n);
    const std::size_t did = ring_.reader.read(dst);
    RINGKIT_FUZZ_CHECK(did == (reader_open_ ? std::min(n, size()) : 0));
    expect_front(dst.first(did));
    drop(did);
  }

  void peek(std::size_t n) {
    const auto dst = std::span(scratch_).first(n);
    const std::size_t did = ring_.reader.peek(dst);
    RINGKIT_FUZZ_CHECK(did == (reader_open_ ? std::min(n, size()) : 0));
    expect_front(dst.first(did));
  }

  void consume(std::uint16_t arg) {
    if (!reader_open_) {
      RINGKIT_FUZZ_CHECK(ring_.reader.consume(arg) == (arg == 0 ? Errc::ok : Errc::over_consume));
      return;
    }
    const std::size_t n = arg % (size() + 1);
    RINGKIT_FUZZ_CHECK(ring_.reader.consume(n) == Errc::ok);
    drop(n);
  }

  void over_consume(std::uint16_t arg) {
    const std::size_t n = (arg & 1) != 0 ? SIZE_MAX - arg : size() + 1 + arg;
    RINGKIT_FUZZ_CHECK(ring_.reader.consume(n) == Errc::over_consume);
  }

  /// What a callback reports for `mode` given `total` offered bytes.
  static ssize_t report(std::uint8_t mode, std::uint16_t arg, std::size_t total) {
    switch (mode % 4) {
      case 0:
        return static_cast<ssize_t>(arg % (total + 1));  // partial (or all, or 0)
      case 1:
        return 0;
      case 2:
        return -1 - static_cast<ssize_t>(arg % 200);  // an error
      default:
        return static_cast<ssize_t>(total + 1 + arg);  // more than offered
    }
  }

  void writer_slices(std::uint8_t mode, std::uint16_t arg) {
    bool called = false;
    ssize_t ret = 0;
    const SliceResult s = ring_.writer.io_slices([&](std::span<iovec> iov, std::size_t total) {
      called = true;
      RINGKIT_FUZZ_CHECK(writer_open_);
      RINGKIT_FUZZ_CHECK(total == free());  // io_slices reloads: all the free space
      check_iovecs(iov, total, wpos_);
      std::uint64_t off = produced_;
      for (const iovec& v : iov) {
        ringkit_test::fill_pattern(
            seed_, off, std::span<std::byte>(static_cast<std::byte*>(v.iov_base), v.iov_len));
        off += v.iov_len;
      }
      ret = report(mode, arg, total);
      return ret;
    });
    if (!writer_open_ || free() == 0) {
      RINGKIT_FUZZ_CHECK(!called);
      RINGKIT_FUZZ_CHECK(s.errc == Errc::ring_full && s.bytes == 0);
      return;
    }
    RINGKIT_FUZZ_CHECK(called);
    settle(s, ret, free());
    if (s.errc == Errc::ok) append(s.bytes);
  }

  void reader_slices(std::uint8_t mode, std::uint16_t arg) {
    bool called = false;
    ssize_t ret = 0;
    const SliceResult s = ring_.reader.io_slices([&](std::span<iovec> iov, std::size_t total) {
      called = true;
      RINGKIT_FUZZ_CHECK(reader_open_);
      RINGKIT_FUZZ_CHECK(total == size());  // io_slices reloads: all the data
      check_iovecs(iov, total, rpos_);
      std::size_t i = 0;
      for (const iovec& v : iov) {
        const auto* p = static_cast<const std::byte*>(v.iov_base);
        for (std::size_t k = 0; k < v.iov_len; ++k) RINGKIT_FUZZ_CHECK(p[k] == oracle_[i++]);
      }
      ret = report(mode, arg, total);
      return ret;
    });
    if (!reader_open_ || size() == 0) {
      RINGKIT_FUZZ_CHECK(!called);
      RINGKIT_FUZZ_CHECK(s.errc == Errc::ring_empty && s.bytes == 0);
      return;
    }
    RINGKIT_FUZZ_CHECK(called);
    settle(s, ret, size());
    if (s.errc == Errc::ok) drop(s.bytes);
  }

  /// Checks an io_slices() result against what the callback returned.
  static void settle(const SliceResult& s, ssize_t ret, std::size_t total) {
    if (ret < 0) {
      RINGKIT_FUZZ_CHECK(s.errc == Errc::callback_error && s.bytes == 0 && !s);
    } else if (static_cast<std::size_t>(ret) > total) {
      RINGKIT_FUZZ_CHECK(s.errc == Errc::over_report && s.bytes == 0 && !s);
    } else {
      RINGKIT_FUZZ_CHECK(s.errc == Errc::ok && s.bytes == static_cast<std::size_t>(ret) && s);
    }
  }

  /// The iovecs describe `total` bytes starting at storage index `pos & (cap - 1)`, in order,
  /// without empty entries: one when mirrored or unwrapped, else two.
  void check_iovecs(std::span<iovec> iov, std::size_t total, std::uint64_t pos) const {
    const std::size_t idx = static_cast<std::size_t>(pos) & (cap_ - 1);
    RINGKIT_FUZZ_CHECK(!iov.empty() && iov.size() <= 2);
    RINGKIT_FUZZ_CHECK(static_cast<std::byte*>(iov[0].iov_base) == base_ + idx);
    std::size_t sum = 0;
    for (const iovec& v : iov) {
      RINGKIT_FUZZ_CHECK(v.iov_len != 0);
      sum += v.iov_len;
    }
    RINGKIT_FUZZ_CHECK(sum == total);
    const bool wraps = idx + total > cap_;
    RINGKIT_FUZZ_CHECK(iov.size() == (wraps && !mirrored_ ? 2U : 1U));
    if (iov.size() == 2) {
      RINGKIT_FUZZ_CHECK(iov[0].iov_len == cap_ - idx);
      RINGKIT_FUZZ_CHECK(static_cast<std::byte*>(iov[1].iov_base) == base_);
    }
  }

  /// A view is the segments it is given (or their first part for the fallback's views).
  template <class Byte>
  void check_view_shape(const ringkit::Segments<Byte>& all, const ringkit::Segments<Byte>& view) {
    if (views_end_at_wrap_) {
      RINGKIT_FUZZ_CHECK(view.count() == (all.empty() ? 0U : 1U));
      if (!all.empty()) RINGKIT_FUZZ_CHECK(view.first().data() == all.first().data());
      if (!all.empty()) RINGKIT_FUZZ_CHECK(view.first().size() == all.first().size());
    } else {
      RINGKIT_FUZZ_CHECK(view.count() == all.count());
      for (std::size_t i = 0; i < all.count(); ++i) {
        RINGKIT_FUZZ_CHECK(view[i].data() == all[i].data() && view[i].size() == all[i].size());
      }
    }
  }

  void check_free_view(const MutableSegments& all) const {
    const std::size_t real_free = writer_open_ ? free() : 0;
    RINGKIT_FUZZ_CHECK(all.bytes() == real_free);
    RINGKIT_FUZZ_CHECK(all.count() <= (mirrored_ ? 1U : 2U));
    if (!all.empty()) {
      const std::size_t idx = static_cast<std::size_t>(wpos_) & (cap_ - 1);
      RINGKIT_FUZZ_CHECK(all.first().data() == base_ + idx);
    }
  }

  void look() {
    const ConstSegments all = ring_.reader.readable_segments();
    const ConstSegments view = segments_of(ring_.reader.readable());
    check_view_shape(all, view);
    const std::size_t real_size = reader_open_ ? size() : 0;
    RINGKIT_FUZZ_CHECK(all.bytes() == real_size);
    RINGKIT_FUZZ_CHECK(all.count() <= (mirrored_ ? 1U : 2U));
    std::size_t i = 0;
    for (const auto& part : all) {
      for (const std::byte b : part) RINGKIT_FUZZ_CHECK(b == oracle_[i++]);
    }
    if (!all.empty()) {
      const std::size_t idx = static_cast<std::size_t>(rpos_) & (cap_ - 1);
      RINGKIT_FUZZ_CHECK(all.first().data() == base_ + idx);
    }
    const MutableSegments free_all = ring_.writer.writable_segments();
    check_free_view(free_all);
    check_view_shape(free_all, segments_of(ring_.writer.writable()));
  }

  void move_round_trip(std::uint8_t how) {
    if ((how & 1) != 0) {
      auto tmp = std::move(ring_.writer);
      RINGKIT_FUZZ_CHECK(!ring_.writer.valid() && ring_.writer.capacity() == 0);
      ring_.writer = std::move(tmp);
    } else {
      auto tmp = std::move(ring_.reader);
      RINGKIT_FUZZ_CHECK(!ring_.reader.valid() && ring_.reader.capacity() == 0);
      ring_.reader = std::move(tmp);
    }
  }

  void commit_zero_and_consume_zero() {
    RINGKIT_FUZZ_CHECK(ring_.writer.commit(0) == Errc::ok);
    RINGKIT_FUZZ_CHECK(ring_.reader.consume(0) == Errc::ok);
  }

  void close_writer() {
    ring_.writer.close();
    writer_open_ = false;
  }

  void close_reader() {
    ring_.reader.close();
    reader_open_ = false;
  }

  /// Counters, hints and liveness after every step.
  void check() {
    auto& w = ring_.writer;
    auto& r = ring_.reader;
    RINGKIT_FUZZ_CHECK(oracle_.size() <= cap_);
    RINGKIT_FUZZ_CHECK(wpos_ - rpos_ == oracle_.size());
    if (writer_open_) {
      RINGKIT_FUZZ_CHECK(w.valid() && w.capacity() == cap_);
      RINGKIT_FUZZ_CHECK(w.position() == wpos_);
      RINGKIT_FUZZ_CHECK(w.size_hint() == oracle_.size());
      RINGKIT_FUZZ_CHECK(w.mirrored() == mirrored_);
      RINGKIT_FUZZ_CHECK(w.peer_alive() == reader_open_);
    } else {
      RINGKIT_FUZZ_CHECK(!w.valid() && w.capacity() == 0 && w.position() == 0);
      RINGKIT_FUZZ_CHECK(w.size_hint() == 0 && !w.peer_alive());
    }
    if (reader_open_) {
      RINGKIT_FUZZ_CHECK(r.valid() && r.capacity() == cap_);
      RINGKIT_FUZZ_CHECK(r.position() == rpos_);
      RINGKIT_FUZZ_CHECK(r.size_hint() == oracle_.size());
      RINGKIT_FUZZ_CHECK(r.mirrored() == mirrored_);
      RINGKIT_FUZZ_CHECK(r.peer_alive() == writer_open_);
    } else {
      RINGKIT_FUZZ_CHECK(!r.valid() && r.capacity() == 0 && r.position() == 0);
      RINGKIT_FUZZ_CHECK(r.size_hint() == 0 && !r.peer_alive());
    }
  }

  Ring& ring_;
  std::size_t cap_;
  std::uint64_t wpos_, rpos_;  // expected positions (wrap at 2^64 like the ring's)
  std::uint64_t seed_;
  std::uint64_t produced_ = 0;  // stream offset of the next byte written
  bool mirrored_, views_end_at_wrap_;
  bool writer_open_ = true, reader_open_ = true;
  const std::byte* base_ = nullptr;  // storage index 0
  std::deque<std::byte> oracle_;
  std::vector<std::byte> scratch_;
};

template <class Ring>
void run(Ring& ring, Input& in, std::size_t cap, std::uint64_t start, std::uint64_t seed,
         bool views_end_at_wrap) {
  Differential<Ring> d(ring, cap, start, seed, ring.writer.mirrored(), views_end_at_wrap);
  for (int ops = 0; ops < 4096 && in.more(); ++ops) d.step(in);
  d.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::uint8_t b0 = in.u8();
  const std::uint8_t b1 = in.u8();
  const std::uint64_t seed = in.u8();
  std::size_t cap = std::size_t{1} << ((b0 & 0x0f) % 13);                     // 1 .. 4096
  const std::uint64_t start = b1 < 160 ? UINT64_MAX - std::uint64_t{b1} * 29  // wraps soon
                                       : std::uint64_t{b1} * 1000;
  switch ((b0 >> 4) % 3) {
    case 0: {
      auto ring = ringkit::make_byte_ring(cap, {.initial_position = start});
      RINGKIT_FUZZ_CHECK(ring.has_value());
      run(*ring, in, cap, start, seed, false);
      break;
    }
    case 1: {  // mirrored: one or two pages
      cap = ringkit::MirrorRegion::page_size() << (b0 & 1);
      auto ring = ringkit::make_mirror_byte_ring(
          cap, {.mode = ringkit::MirrorMode::automatic, .initial_position = start});
      RINGKIT_FUZZ_CHECK(ring.has_value());
      run(*ring, in, cap, start, seed, !ring->writer.mirrored());
      break;
    }
    default: {  // the mirrored ring's plain fallback
      auto ring = ringkit::make_mirror_byte_ring(
          cap, {.mode = ringkit::MirrorMode::never, .initial_position = start});
      RINGKIT_FUZZ_CHECK(ring.has_value());
      run(*ring, in, cap, start, seed, true);
      break;
    }
  }
  return 0;
}
