// Differential fuzzer for the broadcast ring (ringkit/broadcast.hpp), single-threaded: decodes
// the input into writer, reader, join/leave and close operations and applies each to a ring
// and to a model (the writer's sequence, each reader's position and counters, and the writer's
// cached reader minimum), comparing every result, every element and every counter; any
// difference is __builtin_trap(). Element `s` of the stream is mix64(seed ^ s), so the model
// needs no storage: it knows the value of every sequence.
//
// Input layout:
//   byte 0    policy (bit 0: gated / overwrite) and capacity (1 .. 32, a power of two)
//   byte 1    seed of the values
//   then      operations: an opcode byte followed by its argument bytes (missing bytes are 0)
//
// Operations: try_publish one / a batch; writable() + commit (also too much); publish_for with
// a zero timeout; join a reader; leave one; try_pop; read a batch; readable() + consume (also
// too much); pop_for with a zero timeout; look at lag, backpressure and counters; move a
// handle away and back; close the ring or the writer.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <ringkit/broadcast.hpp>
#include <ringkit/error.hpp>

#include "support/fuzz_input.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::BroadcastPolicy;
using ringkit::BroadcastRing;
using ringkit::Errc;
using ringkit::RecvResult;
using ringkit::RecvStatus;
using u64 = std::uint64_t;
using Input = ringkit_test::FuzzInput;

constexpr std::size_t kMaxReaders = 9;

template <BroadcastPolicy Policy>
class Differential {
  static constexpr bool kGated = Policy == BroadcastPolicy::gated;
  using Ring = BroadcastRing<u64, Policy>;

 public:
  Differential(std::size_t cap, u64 seed)
      : ring_(*Ring::create(cap)), writer_(*ring_.take_writer()), cap_(cap), seed_(seed) {
    RINGKIT_FUZZ_CHECK(ring_.capacity() == cap);
    RINGKIT_FUZZ_CHECK(ring_.take_writer().error() == Errc::busy);
  }

  void step(Input& in) {
    const std::uint8_t op = in.u8();
    switch (op % 16) {
      case 0:
        try_publish_one();
        break;
      case 1:
        try_publish_batch(in.u8() % 20);
        break;
      case 2:
        writable_commit(in.u8());
        break;
      case 3:
        publish_for_zero();
        break;
      case 4:
        join();
        break;
      case 5:
        leave(in.u8());
        break;
      case 6:
        try_pop(in.u8());
        break;
      case 7:
        read(in.u8(), in.u8() % 40);
        break;
      case 8:
        readable_consume(in.u8(), in.u8());
        break;
      case 9:
        pop_for_zero(in.u8());
        break;
      case 10:
        move_round_trip(in.u8());
        break;
      case 11:
        if (op >= 200) close_ring(((op >> 4) & 1) != 0);  // rare: 203/235 ring, 219/251 writer
        break;
      default:
        try_publish_one();
        break;
    }
    check();
  }

 private:
  struct ModelReader {
    std::optional<typename Ring::Reader> handle;
    u64 pos = 0, start = 0, pub_cache = 0, lost = 0, lapped = 0;
    std::size_t view = 0;  // overwrite: the last readable() not yet consumed
    bool chasing = false;  // overwrite: lapped and nothing delivered since
  };

  [[nodiscard]] u64 value(u64 seq) const { return ringkit_test::mix64(seed_ ^ seq); }
  [[nodiscard]] u64 true_min() const {
    u64 m = seq_;
    for (const auto& r : readers_) m = std::min(m, r.pos);
    return m;
  }
  void refresh() { min_cache_ = true_min(); }
  [[nodiscard]] std::size_t free_cached() const {
    return cap_ - static_cast<std::size_t>(seq_ - min_cache_);
  }
  [[nodiscard]] std::size_t true_free() const {
    return kGated ? cap_ - static_cast<std::size_t>(seq_ - true_min()) : cap_;
  }
  [[nodiscard]] bool can_publish() const { return writer_valid_ && open_; }

  void try_publish_one() {
    const bool ok = writer_.try_publish(value(seq_));
    bool want = writer_valid_;
    if (want && kGated && seq_ - min_cache_ == cap_) {
      refresh();
      want = seq_ - min_cache_ != cap_;
    }
    want = want && open_;
    RINGKIT_FUZZ_CHECK(ok == want);
    if (ok) ++seq_;
  }

  void try_publish_batch(std::size_t n) {
    std::vector<u64> src(n);
    for (std::size_t i = 0; i < n; ++i) src[i] = value(seq_ + i);
    const std::size_t did = writer_.try_publish(std::span<const u64>(src));
    std::size_t want = 0;
    if (can_publish() && n != 0) {
      if (kGated) {
        if (free_cached() < n) refresh();
        want = std::min(n, free_cached());
      } else {
        want = n;
      }
    }
    RINGKIT_FUZZ_CHECK(did == want);
    seq_ += did;
  }

  void writable_commit(std::uint8_t arg) {
    const std::span<u64> span = writer_.writable();
    std::size_t want_size = 0;
    if (can_publish()) {
      if (kGated) {
        if (free_cached() == 0) refresh();
        const std::size_t idx = static_cast<std::size_t>(seq_) & (cap_ - 1);
        want_size = std::min(free_cached(), cap_ - idx);
      } else {
        want_size = std::min(cap_, Ring::Writer::kMaxStage);
      }
    }
    RINGKIT_FUZZ_CHECK(span.size() == want_size);
    for (std::size_t i = 0; i < span.size(); ++i) span[i] = value(seq_ + i);
    if (arg >= 200) {  // commit more than there is room for
      const std::size_t n =
          (kGated ? true_free() : std::min(cap_, Ring::Writer::kMaxStage)) + 1 + (arg - 200);
      const Errc e = writer_.commit(n);
      if (!writer_valid_) {
        RINGKIT_FUZZ_CHECK(e == Errc::over_commit);
      } else if (!open_) {
        RINGKIT_FUZZ_CHECK(e == Errc::closed);
      } else {
        RINGKIT_FUZZ_CHECK(e == Errc::over_commit);
        if (kGated && n <= cap_) refresh();
      }
      return;
    }
    const std::size_t n = arg % (span.size() + 1);
    const Errc e = writer_.commit(n);
    if (n == 0) {
      RINGKIT_FUZZ_CHECK(e == Errc::ok);
      return;
    }
    RINGKIT_FUZZ_CHECK(e == Errc::ok);
    seq_ += n;
  }

  void publish_for_zero() {
    const Errc e = writer_.publish_for(value(seq_), std::chrono::nanoseconds(0));
    if (!can_publish()) {
      RINGKIT_FUZZ_CHECK(e == Errc::closed);
      return;
    }
    if (kGated && seq_ - min_cache_ == cap_) refresh();
    if (kGated && seq_ - min_cache_ == cap_) {
      RINGKIT_FUZZ_CHECK(e == Errc::timed_out);
      return;
    }
    RINGKIT_FUZZ_CHECK(e == Errc::ok);
    ++seq_;
  }

  void join() {
    if (readers_.size() >= kMaxReaders) return;
    auto r = ring_.subscribe();
    if (!open_) {
      RINGKIT_FUZZ_CHECK(!r.has_value() && r.error() == Errc::closed);
      return;
    }
    RINGKIT_FUZZ_CHECK(r.has_value());
    ModelReader m;
    m.handle.emplace(std::move(*r));
    m.pos = m.start = m.pub_cache = seq_;
    RINGKIT_FUZZ_CHECK(m.handle->position() == seq_);
    readers_.push_back(std::move(m));
  }

  void leave(std::uint8_t i) {
    if (readers_.empty()) return;
    auto it = readers_.begin() + static_cast<std::ptrdiff_t>(i % readers_.size());
    if ((i & 0x80) != 0) {
      it->handle->close();
      RINGKIT_FUZZ_CHECK(!it->handle->valid());
    }
    readers_.erase(it);
  }

  ModelReader* pick(std::uint8_t i) {
    if (readers_.empty()) return nullptr;
    return &readers_[i % readers_.size()];
  }

  /// The model of read(n) (and try_pop = read(1)); returns the expected result.
  RecvResult model_read(ModelReader& m, std::size_t n) {
    if (n == 0) return {RecvStatus::ok, 0};
    if (kGated) {
      u64 avail = m.pub_cache - m.pos;
      if (avail < n) {
        m.pub_cache = seq_;
        avail = m.pub_cache - m.pos;
        if (avail == 0) return {open_ ? RecvStatus::empty : RecvStatus::closed, 0};
      }
      const std::size_t k = static_cast<std::size_t>(std::min<u64>(avail, n));
      return {RecvStatus::ok, k};
    }
    m.view = 0;
    if (seq_ - m.pos > cap_) {
      u64 to = seq_ - cap_;
      if (m.chasing && seq_ > cap_ / 2) to = seq_ - cap_ / 2;
      m.chasing = true;
      m.pub_cache = seq_;
      return {RecvStatus::lagged, to - m.pos};
    }
    const u64 avail = seq_ - m.pos;
    if (avail == 0) return {open_ ? RecvStatus::empty : RecvStatus::closed, 0};
    return {RecvStatus::ok, std::min<u64>(avail, n)};
  }

  void apply(ModelReader& m, const RecvResult& want, const RecvResult& got,
             std::span<const u64> out) {
    RINGKIT_FUZZ_CHECK(got.status == want.status);
    RINGKIT_FUZZ_CHECK(got.count == want.count);
    if (got.status == RecvStatus::ok) {
      for (u64 i = 0; i < got.count; ++i) RINGKIT_FUZZ_CHECK(out[i] == value(m.pos + i));
      m.pos += got.count;
      if (got.count != 0) m.chasing = false;
    } else if (got.status == RecvStatus::lagged) {
      m.pos += got.count;
      m.lost += got.count;
      ++m.lapped;
    }
  }

  void try_pop(std::uint8_t i) {
    ModelReader* m = pick(i);
    if (m == nullptr) return;
    u64 v = 0;
    const RecvResult want = model_read(*m, 1);
    const RecvResult got = m->handle->try_pop(v);
    apply(*m, want, got, std::span<const u64>(&v, 1));
  }

  void read(std::uint8_t i, std::size_t n) {
    ModelReader* m = pick(i);
    if (m == nullptr) return;
    std::vector<u64> out(n);
    const RecvResult want = model_read(*m, n);
    const RecvResult got = m->handle->read(std::span<u64>(out));
    apply(*m, want, got, out);
  }

  void pop_for_zero(std::uint8_t i) {
    ModelReader* m = pick(i);
    if (m == nullptr) return;
    u64 v = 0;
    RecvResult want = model_read(*m, 1);
    if (want.status == RecvStatus::empty) {
      want = {RecvStatus::timed_out, 0};
      if (kGated) m->pub_cache = seq_;
    }
    const RecvResult got = m->handle->pop_for(v, std::chrono::nanoseconds(0));
    apply(*m, want, got, std::span<const u64>(&v, 1));
  }

  void readable_consume(std::uint8_t i, std::uint8_t arg) {
    ModelReader* m = pick(i);
    if (m == nullptr) return;
    const std::span<const u64> view = m->handle->readable();
    m->pub_cache = seq_;
    if (!kGated && seq_ - m->pos > cap_) {
      const u64 lost = seq_ - cap_ - m->pos;
      m->pos += lost;
      m->lost += lost;
      ++m->lapped;
    }
    const std::size_t idx = static_cast<std::size_t>(m->pos) & (cap_ - 1);
    const std::size_t want_size =
        std::min<std::size_t>(static_cast<std::size_t>(seq_ - m->pos), cap_ - idx);
    RINGKIT_FUZZ_CHECK(view.size() == want_size);
    for (std::size_t k = 0; k < view.size(); ++k) RINGKIT_FUZZ_CHECK(view[k] == value(m->pos + k));
    m->view = want_size;
    // Sometimes let the writer move on before consuming (overwrite: the view may go stale).
    if ((arg & 0x40) != 0) try_publish_batch(arg & 7);
    std::size_t n = 0;
    if ((arg & 0x80) != 0) {
      n = (kGated ? static_cast<std::size_t>(m->pub_cache - m->pos) : m->view) + 1 + (arg & 3);
    } else {
      n = (arg & 0x3f) % (m->view + 1);
    }
    const Errc e = m->handle->consume(n);
    if (n == 0) {
      RINGKIT_FUZZ_CHECK(e == Errc::ok);
      return;
    }
    if (kGated) {
      if (n > m->pub_cache - m->pos) {
        RINGKIT_FUZZ_CHECK(e == Errc::over_consume);
        return;
      }
      RINGKIT_FUZZ_CHECK(e == Errc::ok);
      m->pos += n;
      return;
    }
    if (n > m->view) {
      RINGKIT_FUZZ_CHECK(e == Errc::over_consume);
      return;
    }
    m->view -= n;
    const bool intact = seq_ - m->pos <= cap_;  // slot `pos` not yet rewritten
    if (!intact) {
      RINGKIT_FUZZ_CHECK(e == Errc::lagged);
      m->lost += n;
      ++m->lapped;
    } else {
      RINGKIT_FUZZ_CHECK(e == Errc::ok);
      m->chasing = false;
    }
    m->pos += n;
  }

  void move_round_trip(std::uint8_t how) {
    if ((how & 1) != 0 || readers_.empty()) {
      auto tmp = std::move(writer_);
      RINGKIT_FUZZ_CHECK(!writer_.valid() && writer_.capacity() == 0);
      writer_ = std::move(tmp);
    } else {
      ModelReader* m = pick(how >> 1);
      auto tmp = std::move(*m->handle);
      RINGKIT_FUZZ_CHECK(!m->handle->valid());
      *m->handle = std::move(tmp);
      m->view = 0;  // the moved view is gone with the call sequence
    }
  }

  void close_ring(bool writer) {
    if (writer) {
      writer_.close();
      writer_valid_ = false;
    } else {
      ring_.close();
    }
    open_ = false;
  }

  void check() {
    RINGKIT_FUZZ_CHECK(ring_.is_open() == open_);
    RINGKIT_FUZZ_CHECK(ring_.reader_count() == readers_.size());
    RINGKIT_FUZZ_CHECK(writer_.valid() == writer_valid_);
    if (writer_valid_) {
      RINGKIT_FUZZ_CHECK(writer_.sequence() == seq_);
      RINGKIT_FUZZ_CHECK(writer_.peer_alive() == open_);
      RINGKIT_FUZZ_CHECK(writer_.reader_count() == readers_.size());
      const u64 lag = seq_ - true_min();
      const double want = lag >= cap_ ? 1.0 : static_cast<double>(lag) / static_cast<double>(cap_);
      RINGKIT_FUZZ_CHECK(writer_.backpressure_ratio() == want);
      RINGKIT_FUZZ_CHECK(writer_.is_under_pressure() == (want > 0.8));
      RINGKIT_FUZZ_CHECK(writer_.should_throttle() == (want >= 0.9));
    }
    for (const auto& m : readers_) {
      const auto& r = *m.handle;
      RINGKIT_FUZZ_CHECK(r.valid() && r.capacity() == cap_);
      RINGKIT_FUZZ_CHECK(r.position() == m.pos);
      RINGKIT_FUZZ_CHECK(r.start_position() == m.start);
      RINGKIT_FUZZ_CHECK(r.lag() == seq_ - m.pos);
      RINGKIT_FUZZ_CHECK(r.lost_count() == m.lost);
      RINGKIT_FUZZ_CHECK(r.lapped_count() == m.lapped);
      RINGKIT_FUZZ_CHECK(r.peer_alive() == open_);
      const u64 lag = seq_ - m.pos;
      const double want = lag >= cap_ ? 1.0 : static_cast<double>(lag) / static_cast<double>(cap_);
      RINGKIT_FUZZ_CHECK(r.backpressure_ratio() == want);
      if (kGated) RINGKIT_FUZZ_CHECK(lag <= cap_);
    }
  }

  Ring ring_;
  typename Ring::Writer writer_;
  std::size_t cap_;
  u64 seed_;
  u64 seq_ = 0;        // the writer's sequence
  u64 min_cache_ = 0;  // gated: the writer's cached reader minimum
  bool open_ = true;
  bool writer_valid_ = true;
  std::vector<ModelReader> readers_;
};

template <BroadcastPolicy Policy>
void run(Input& in, std::size_t cap, u64 seed) {
  Differential<Policy> d(cap, seed);
  for (int ops = 0; ops < 4096 && in.more(); ++ops) d.step(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::uint8_t b0 = in.u8();
  const u64 seed = in.u8();
  const std::size_t cap = std::size_t{1} << ((b0 >> 1) % 6);  // 1 .. 32
  if ((b0 & 1) == 0) {
    run<BroadcastPolicy::gated>(in, cap, seed);
  } else {
    run<BroadcastPolicy::overwrite>(in, cap, seed);
  }
  return 0;
}
