// Differential fuzzer for the event pools: decodes the input into allocate / copy / clone /
// release / weak lock / token operations on 8 handle variables, 4 weak handles and 4 token
// variables, applies each to a real EventPools and to a simple model (which event each variable
// holds, each event's reference count, the live count per class), and compares after every
// step: results, error codes, use counts, per-class stats and every live event's bytes. Any
// difference is __builtin_trap().
//
// Input layout:
//   byte 0      slot counts (1..4 per class, from its bits) and the XXL switch (bit 7)
//   byte 1      cache batch (0 = automatic, else 1..4)
//   then        operations: an opcode byte followed by its argument bytes (missing bytes are 0)
//
// The model is exact because one thread runs everything: the thread's cache and the shared
// lists together always hold every free slot, so exhaustion happens exactly at capacity.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include <ringkit/event_pool.hpp>

#include "support/fuzz_input.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::EventPools;
using ringkit::EventRef;
using ringkit::EventToken;
using ringkit::PoolConfig;
using ringkit::SizeClass;
using ringkit::WeakEventRef;

using Input = ringkit_test::FuzzInput;

constexpr std::size_t kHandles = 8;
constexpr std::size_t kWeak = 4;
constexpr std::size_t kTokens = 4;
constexpr std::uint32_t kXxlSlots = 2;

struct ModelEvent {
  std::uint64_t seed = 0;
  std::size_t size = 0;
  std::uint32_t type = 0;
  std::size_t cls = 0;
  std::uint32_t refs = 0;  // handles + tokens holding it
};

class Differential {
 public:
  explicit Differential(Input& in) : in_(in) {
    const std::uint8_t b0 = in.u8();
    for (std::size_t c = 0; c < ringkit::kFixedClasses; ++c) {
      config_.slots[c] = 1 + ((b0 >> (c % 4)) & 3U);
    }
    config_.xxl_enabled = (b0 & 0x80U) != 0;
    config_.xxl_slots = kXxlSlots;
    config_.xxl_max_bytes = 40000;
    config_.cache_batch = in.u8() % 5;
    auto p = EventPools::create(config_);
    RINGKIT_FUZZ_CHECK(p.has_value());
    pools_.emplace(std::move(*p));
  }

  void run() {
    while (in_.more()) {
      step(in_.u8());
      check_all();
    }
    // Adopt every token left in flight and drop everything: the pools must then free cleanly
    // (ASan/LSan see a leak or a double free).
    for (std::size_t t = 0; t < kTokens; ++t) {
      if (token_event_[t]) {
        auto r = EventRef::from_token(tokens_[t]);
        RINGKIT_FUZZ_CHECK(r.has_value());
      }
    }
  }

 private:
  [[nodiscard]] std::size_t capacity(std::size_t cls) const {
    return cls < ringkit::kFixedClasses ? config_.slots[cls] : kXxlSlots;
  }
  [[nodiscard]] std::size_t live_in(std::size_t cls) const {
    std::size_t n = 0;
    for (const auto& e : events_) n += (e.refs > 0 && e.cls == cls) ? 1 : 0;
    return n;
  }
  [[nodiscard]] std::size_t pick_size() {
    const std::uint8_t k = in_.u8();
    const std::uint16_t v = in_.u16();
    switch (k % 7) {
      case 0:
        return v % 65;
      case 1:
        return 65 + v % 192;
      case 2:
        return 257 + v % 768;
      case 3:
        return 1025 + v % 3072;
      case 4:
        return 4097 + v % 12288;
      case 5:
        return 16385 + v % 30000;  // XXL, some above xxl_max_bytes
      default:
        return v % 16 == 0 ? 0 : 1 + v % 16384;
    }
  }

  void drop_handle(std::size_t h) {
    if (handle_event_[h]) --events_[*handle_event_[h]].refs;
    handles_[h].reset();
    handle_event_[h].reset();
  }
  void set_handle(std::size_t h, EventRef&& ref, std::size_t ev) {
    drop_handle(h);
    handles_[h] = std::move(ref);
    handle_event_[h] = ev;
  }

  void allocate(bool uninit) {
    const std::size_t h = in_.u8() % kHandles;
    const std::size_t n = pick_size();
    const auto type = static_cast<std::uint32_t>(in_.u8());
    const std::uint64_t seed = next_seed_++;
    const auto cls = static_cast<std::size_t>(ringkit::size_class_for(n));
    std::optional<Errc> expect;
    if (!pools_) {
      expect = Errc::invalid_argument;
    } else if (cls == ringkit::kFixedClasses && (!config_.xxl_enabled || n > 40000)) {
      expect = Errc::too_large;
    } else if (live_in(cls) == capacity(cls)) {
      expect = Errc::pool_exhausted;
      ++failed_[cls];
    }
    EventPools& p = pools_ ? *pools_ : empty_pools_;
    std::optional<EventRef> got;
    std::optional<Errc> err;
    if (uninit) {
      auto w = p.allocate_uninit(n, type);
      if (w) {
        RINGKIT_FUZZ_CHECK(w->writable().size() == n);
        ringkit_test::fill_pattern(seed, 0, w->writable());
        got = std::move(*w).publish();
      } else {
        err = static_cast<Errc>(w.error().value());
      }
    } else {
      std::vector<std::byte> bytes(n);
      ringkit_test::fill_pattern(seed, 0, bytes);
      auto r = p.allocate(bytes, type);
      if (r) {
        got = std::move(*r);
      } else {
        err = static_cast<Errc>(r.error().value());
      }
    }
    RINGKIT_FUZZ_CHECK(err == expect);
    if (!got) return;
    events_.push_back(ModelEvent{seed, n, type, cls, 1});
    high_[cls] = std::max(high_[cls], live_in(cls));  // before h's old event is dropped
    set_handle(h, std::move(*got), events_.size() - 1);
  }

  void step(std::uint8_t op) {
    const std::size_t a = in_.u8() % kHandles;
    switch (op % 14) {
      case 0:
        allocate(false);
        break;
      case 1:
        allocate(true);
        break;
      case 2: {  // copy-assign a -> b
        const std::size_t b = in_.u8() % kHandles;
        if (a == b) break;
        EventRef copy = handles_[a];
        const auto ev = handle_event_[a];
        if (ev) ++events_[*ev].refs;
        drop_handle(b);
        handles_[b] = std::move(copy);
        handle_event_[b] = ev;
        break;
      }
      case 3: {  // try_clone a -> b
        const std::size_t b = in_.u8() % kHandles;
        auto c = handles_[a].try_clone();
        RINGKIT_FUZZ_CHECK(c.has_value());
        const auto ev = handle_event_[a];
        if (ev) ++events_[*ev].refs;
        drop_handle(b);
        handles_[b] = std::move(*c);
        handle_event_[b] = ev;
        break;
      }
      case 4:
        drop_handle(a);
        break;
      case 5: {  // move a -> b
        const std::size_t b = in_.u8() % kHandles;
        if (a == b) break;
        drop_handle(b);
        handles_[b] = std::move(handles_[a]);
        handle_event_[b] = handle_event_[a];
        handle_event_[a].reset();
        RINGKIT_FUZZ_CHECK(!handles_[a]);
        break;
      }
      case 6: {  // weak from a
        const std::size_t w = in_.u8() % kWeak;
        weak_[w] = WeakEventRef(handles_[a]);
        weak_event_[w] = handle_event_[a];
        break;
      }
      case 7: {  // lock weak -> a
        const std::size_t w = in_.u8() % kWeak;
        auto r = weak_[w].lock();
        const bool alive = weak_event_[w] && events_[*weak_event_[w]].refs > 0;
        RINGKIT_FUZZ_CHECK(r.has_value() == alive);
        RINGKIT_FUZZ_CHECK(weak_[w].expired() == !alive);
        if (!alive) {
          RINGKIT_FUZZ_CHECK(r.error() == Errc::stale_handle);
          break;
        }
        ++events_[*weak_event_[w]].refs;
        set_handle(a, std::move(*r), *weak_event_[w]);
        break;
      }
      case 8: {  // a -> token t (adopting whatever t held first)
        const std::size_t t = in_.u8() % kTokens;
        if (!handles_[a]) break;
        adopt(t, (a + 1) % kHandles);
        tokens_[t] = std::move(handles_[a]).into_token();
        token_event_[t] = handle_event_[a];
        handle_event_[a].reset();
        break;
      }
      case 9:
        adopt(in_.u8() % kTokens, a);
        break;
      case 10: {  // a stale token: the bytes of one already adopted, whose event is gone
        const std::size_t t = in_.u8() % kTokens;
        // Detectable while the pools exist; the owner is the simplest proof of that here.
        if (!pools_ || !old_event_[t] || events_[*old_event_[t]].refs > 0) break;
        RINGKIT_FUZZ_CHECK(EventRef::from_token(old_tokens_[t]).error() == Errc::stale_handle);
        break;
      }
      case 11: {  // shared token for k holders, adopted into handles a.. a+k-1
        const std::uint32_t k = 1 + in_.u8() % 3;
        const std::size_t b = in_.u8() % kHandles;
        if (!handles_[b]) break;
        EventRef src = handles_[b];
        const std::size_t ev = *handle_event_[b];
        auto tok = std::move(src).into_shared_token(k);
        RINGKIT_FUZZ_CHECK(tok.has_value());
        events_[ev].refs += k;
        for (std::uint32_t i = 0; i < k; ++i) {
          auto r = EventRef::from_token(*tok);
          RINGKIT_FUZZ_CHECK(r.has_value());
          set_handle((a + i) % kHandles, std::move(*r), ev);
        }
        break;
      }
      case 12: {  // the owner goes away; handles carry on
        if (in_.u8() % 4 == 0) pools_.reset();
        break;
      }
      default: {  // stats
        if (!pools_) break;
        for (std::size_t c = 0; c < ringkit::kSizeClasses; ++c) {
          const auto st = pools_->stats(static_cast<SizeClass>(c));
          RINGKIT_FUZZ_CHECK(st.capacity == capacity(c));
          RINGKIT_FUZZ_CHECK(st.in_use == live_in(c));
          RINGKIT_FUZZ_CHECK(st.high_water == high_[c]);
          RINGKIT_FUZZ_CHECK(st.failed == failed_[c]);
        }
        break;
      }
    }
  }

  void adopt(std::size_t t, std::size_t h) {
    if (!token_event_[t]) return;
    auto r = EventRef::from_token(tokens_[t]);
    RINGKIT_FUZZ_CHECK(r.has_value());
    const std::size_t ev = *token_event_[t];
    old_tokens_[t] = tokens_[t];
    old_event_[t] = ev;
    token_event_[t].reset();
    set_handle(h, std::move(*r), ev);  // the token's reference moves into the handle
  }

  void check_all() const {
    for (std::size_t h = 0; h < kHandles; ++h) {
      RINGKIT_FUZZ_CHECK(static_cast<bool>(handles_[h]) == handle_event_[h].has_value());
      if (!handle_event_[h]) continue;
      const ModelEvent& e = events_[*handle_event_[h]];
      const EventRef& r = handles_[h];
      RINGKIT_FUZZ_CHECK(r.size() == e.size);
      RINGKIT_FUZZ_CHECK(r.type() == e.type);
      RINGKIT_FUZZ_CHECK(static_cast<std::size_t>(r.size_class()) == e.cls);
      RINGKIT_FUZZ_CHECK(r.use_count() == e.refs);
      RINGKIT_FUZZ_CHECK(!ringkit_test::first_mismatch(e.seed, 0, r.bytes()).has_value());
    }
  }

  Input& in_;
  PoolConfig config_;
  std::optional<EventPools> pools_;
  EventPools empty_pools_;
  std::vector<ModelEvent> events_;
  std::uint64_t next_seed_ = 1;
  std::array<std::size_t, ringkit::kSizeClasses> high_{};
  std::array<std::uint64_t, ringkit::kSizeClasses> failed_{};
  std::array<EventRef, kHandles> handles_{};
  std::array<std::optional<std::size_t>, kHandles> handle_event_{};
  std::array<WeakEventRef, kWeak> weak_{};
  std::array<std::optional<std::size_t>, kWeak> weak_event_{};
  std::array<EventToken, kTokens> tokens_{};
  std::array<std::optional<std::size_t>, kTokens> token_event_{};
  std::array<EventToken, kTokens> old_tokens_{};
  std::array<std::optional<std::size_t>, kTokens> old_event_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Differential d(in);
  d.run();
  return 0;
}
