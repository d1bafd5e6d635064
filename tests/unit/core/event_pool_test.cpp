#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/channel.hpp>
#include <ringkit/event_pool.hpp>

#include "support/pattern.hpp"

namespace ringkit::detail {
/// Reaches a handle's slot metadata, to drive the refcount to its limits without 2^30 copies.
struct EventTestAccess {
  static SlotMeta* meta(const EventRef& r) { return r.m_; }
  static void set_refs(const EventRef& r, std::uint32_t refs) {
    SlotMeta* m = r.m_;
    const std::uint64_t s = m->state.load(std::memory_order_relaxed);
    m->state.store((s & ~kRefMask) | refs, std::memory_order_relaxed);
  }
};
}  // namespace ringkit::detail

namespace {

using ringkit::Errc;
using ringkit::EventPools;
using ringkit::EventRef;
using ringkit::EventToken;
using ringkit::PoolConfig;
using ringkit::SizeClass;
using ringkit::WeakEventRef;
using Access = ringkit::detail::EventTestAccess;

constexpr std::array<SizeClass, 5> kFixed{SizeClass::xs, SizeClass::s, SizeClass::m, SizeClass::l,
                                          SizeClass::xl};

std::vector<std::byte> pattern(std::uint64_t seed, std::size_t n) {
  std::vector<std::byte> v(n);
  ringkit_test::fill_pattern(seed, 0, v);
  return v;
}

bool holds(const EventRef& r, std::uint64_t seed, std::size_t n) {
  if (r.size() != n) return false;
  return !ringkit_test::first_mismatch(seed, 0, r.bytes()).has_value();
}

EventPools make(const PoolConfig& c = PoolConfig::custom(64, 32, 16, 8, 4)) {
  auto p = EventPools::create(c);
  EXPECT_TRUE(p) << p.message();
  return std::move(*p);
}

TEST(SizeClassTest, Boundaries) {
  EXPECT_EQ(ringkit::size_class_for(0), SizeClass::xs);
  EXPECT_EQ(ringkit::size_class_for(64), SizeClass::xs);
  EXPECT_EQ(ringkit::size_class_for(65), SizeClass::s);
  EXPECT_EQ(ringkit::size_class_for(256), SizeClass::s);
  EXPECT_EQ(ringkit::size_class_for(257), SizeClass::m);
  EXPECT_EQ(ringkit::size_class_for(1024), SizeClass::m);
  EXPECT_EQ(ringkit::size_class_for(4096), SizeClass::l);
  EXPECT_EQ(ringkit::size_class_for(16384), SizeClass::xl);
  EXPECT_EQ(ringkit::size_class_for(16385), SizeClass::xxl);
}

TEST(PoolConfigTest, ProfilesAndFootprint) {
  EXPECT_EQ(PoolConfig::mobile().slots, (std::array<std::uint32_t, 5>{500, 250, 100, 20, 5}));
  EXPECT_EQ(PoolConfig::production().slots,
            (std::array<std::uint32_t, 5>{2000, 1000, 300, 60, 15}));
  EXPECT_EQ(PoolConfig::server().slots, (std::array<std::uint32_t, 5>{4000, 2000, 600, 120, 30}));
  for (const PoolConfig& c :
       {PoolConfig::mobile(), PoolConfig::production(), PoolConfig::server()}) {
    std::size_t payload = 0;
    std::size_t slots = c.xxl_slots;
    for (std::size_t i = 0; i < 5; ++i) {
      payload += std::size_t{c.slots[i]} * ringkit::kClassBytes[i];
      slots += c.slots[i];
    }
    const std::size_t fp = c.footprint();
    EXPECT_GE(fp, payload + slots * 64);  // payload + one line of metadata per slot
    EXPECT_LE(fp, payload + slots * 64 +
                      std::size_t{64} * 1024);  // plus page rounding and the pool object
    auto p = EventPools::create(c);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->footprint(), fp);
  }
  EXPECT_LT(PoolConfig::mobile().footprint(), 512U * 1024);
  EXPECT_GT(EventPools::thread_cache_bytes(), 0U);
}

TEST(PoolConfigTest, RejectsBadCounts) {
  PoolConfig c = PoolConfig::custom(1, 1, 0, 1, 1);
  EXPECT_EQ(c.validate(), Errc::invalid_argument);
  EXPECT_EQ(EventPools::create(c).error(), Errc::invalid_argument);
  c = PoolConfig::custom(1, 1, 1, 1, (1U << 24U) + 1);
  EXPECT_EQ(c.validate(), Errc::invalid_argument);
  c = PoolConfig::custom(1, 1, 1, 1, 1);
  c.xxl_slots = 0;
  EXPECT_EQ(c.validate(), Errc::invalid_argument);
}

TEST(EventPoolsTest, AllocateCopiesBytesTypeAndClass) {
  auto pools = make();
  const std::array<std::size_t, 6> sizes{0, 64, 200, 1000, 4000, 16384};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto bytes = pattern(i, sizes[i]);
    auto ev = pools.allocate(bytes, static_cast<std::uint32_t>(100 + i));
    ASSERT_TRUE(ev) << ev.message();
    EXPECT_TRUE(holds(*ev, i, sizes[i]));
    EXPECT_EQ(ev->type(), 100 + i);
    EXPECT_EQ(ev->size_class(), ringkit::size_class_for(sizes[i]));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ev->data()) % 64, 0U);
  }
}

TEST(EventPoolsTest, CopyIsOneReferenceAndLastReleaseFrees) {
  auto pools = make();
  auto ev = *pools.allocate(pattern(1, 10), 7);
  EXPECT_EQ(ev.use_count(), 1U);
  {
    EventRef a = ev;  // NOLINT(performance-unnecessary-copy-initialization): the copy is tested
    EventRef b = a;
    EXPECT_EQ(ev.use_count(), 3U);
    EXPECT_EQ(a.data(), ev.data());
    EventRef c = std::move(b);
    EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(ev.use_count(), 3U);
  }
  EXPECT_EQ(ev.use_count(), 1U);
  EXPECT_EQ(pools.stats(SizeClass::xs).in_use, 1U);
  ev.reset();
  EXPECT_FALSE(ev);
  EXPECT_EQ(pools.stats(SizeClass::xs).in_use, 0U);
  auto cl = EventRef().try_clone();
  ASSERT_TRUE(cl);
  EXPECT_FALSE(*cl);
}

TEST(EventPoolsTest, RecycledSlotHasNewGenerationAndOldHandlesAreStale) {
  auto pools = make();
  auto ev = *pools.allocate(pattern(1, 8));
  const std::byte* slot = ev.data();
  const std::uint32_t gen = ev.generation();
  WeakEventRef weak(ev);
  EXPECT_FALSE(weak.expired());
  auto locked = weak.lock();
  ASSERT_TRUE(locked);
  EXPECT_EQ(ev.use_count(), 2U);
  locked->reset();
  EventRef for_token = ev;
  const EventToken token = std::move(for_token).into_token();
  EXPECT_EQ(ev.use_count(), 2U);  // the token holds the second reference
  auto back = EventRef::from_token(token);
  ASSERT_TRUE(back);
  back->reset();
  const EventToken old_token = [&] {
    EventRef t = ev;
    return std::move(t).into_token();
  }();
  // Adopt and drop it, so the token's bytes now describe a released reference.
  EventRef::from_token(old_token)->reset();
  ev.reset();
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(weak.lock().error(), Errc::stale_handle);
  EXPECT_EQ(EventRef::from_token(old_token).error(), Errc::stale_handle);  // freed, not reused

  auto again = *pools.allocate(pattern(2, 8));  // the thread's cache returns the same slot
  ASSERT_EQ(again.data(), slot);
  EXPECT_EQ(again.generation(), gen + 1);
  EXPECT_EQ(weak.lock().error(), Errc::stale_handle);  // live slot, other generation (ABA)
  EXPECT_EQ(EventRef::from_token(old_token).error(), Errc::stale_handle);
  EXPECT_EQ(again.use_count(), 1U);  // the failed attempts changed nothing
  EXPECT_TRUE(holds(again, 2, 8));
}

TEST(EventPoolsTest, MalformedTokensAreRejected) {
  auto pools = make();
  auto ev = *pools.allocate(pattern(1, 8));
  EventRef copy = ev;
  EventToken t = std::move(copy).into_token();
  EventToken bad = t;
  bad.slot = (7U << 24U) | 0;  // no such class
  EXPECT_EQ(EventRef::from_token(bad).error(), Errc::stale_handle);
  bad = t;
  bad.slot = 5000;  // index past the class
  EXPECT_EQ(EventRef::from_token(bad).error(), Errc::stale_handle);
  bad = t;
  bad.generation += 1;
  EXPECT_EQ(EventRef::from_token(bad).error(), Errc::stale_handle);
  EXPECT_EQ(EventRef::from_token(EventToken{}).error(), Errc::stale_handle);
  EXPECT_EQ(ev.use_count(), 2U);
  auto adopted = EventRef::from_token(t);
  ASSERT_TRUE(adopted);
  EXPECT_EQ(ev.use_count(), 2U);
}

TEST(EventPoolsTest, TokensPassThroughChannelsWithoutTouchingTheCount) {
  auto pools = make();
  auto spsc = *ringkit::make_spsc<EventToken>(64);
  auto mpsc = *ringkit::make_mpsc<EventToken>(64);
  auto& tx = spsc.producer;
  auto& rx = spsc.consumer;
  auto& mtx = mpsc.producer;
  auto& mrx = mpsc.consumer;
  std::vector<EventRef> keep;
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto ev = *pools.allocate(pattern(i, 40 + i * 30), static_cast<std::uint32_t>(i));
    keep.push_back(ev);
    ASSERT_TRUE(tx.try_push(std::move(ev).into_token()));
  }
  std::thread t([&] {
    for (std::uint64_t i = 0; i < 20; ++i) {
      EventToken tok;
      while (!rx.try_pop(tok)) std::this_thread::yield();
      auto ev = EventRef::from_token(tok);
      ASSERT_TRUE(ev);
      EXPECT_TRUE(holds(*ev, i, 40 + i * 30));
      ASSERT_TRUE(mtx.try_push(std::move(*ev).into_token()));
    }
  });
  t.join();
  for (std::uint64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(keep[i].use_count(), 2U);  // ours + the token in the MPSC channel
    EventToken tok;
    ASSERT_TRUE(mrx.try_pop(tok));
    auto ev = EventRef::from_token(tok);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->data(), keep[i].data());
  }
  for (const auto& k : keep) EXPECT_EQ(k.use_count(), 1U);
}

TEST(EventPoolsTest, SharedTokenForKnownHolders) {
  auto pools = make();
  auto ev = *pools.allocate(pattern(3, 100));
  WeakEventRef weak(ev);
  EXPECT_EQ(EventRef().into_shared_token(2).error(), Errc::invalid_argument);
  const auto token = std::move(ev).into_shared_token(3);
  ASSERT_TRUE(token);
  std::vector<EventRef> holders;
  holders.reserve(3);
  for (int i = 0; i < 3; ++i) holders.push_back(*EventRef::from_token(*token));
  EXPECT_EQ(holders[0].use_count(), 3U);
  holders.pop_back();
  holders.pop_back();
  EXPECT_FALSE(weak.expired());
  holders.clear();
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(pools.stats(SizeClass::s).in_use, 0U);
}

TEST(EventPoolsTest, RefcountOverflowIsDetectedNeverWrapped) {
  auto pools = make();
  auto ev = *pools.allocate(pattern(4, 16));
  Access::set_refs(ev, ringkit::detail::kMaxRefs);
  auto clone = ev.try_clone();
  EXPECT_EQ(clone.error(), Errc::refcount_overflow);
  EXPECT_EQ(ev.use_count(), ringkit::detail::kMaxRefs);  // undone
  WeakEventRef weak(ev);
  EXPECT_EQ(weak.lock().error(), Errc::refcount_overflow);
  EventRef tmp = ev;  // the other way to say no: the copy constructor pins the slot
  EXPECT_GE(ev.use_count(), ringkit::detail::kPinnedFloor);
  const std::uint32_t gen = ev.generation();
  for (int i = 0; i < 1000; ++i) {
    EventRef a = ev;  // NOLINT(performance-unnecessary-copy-initialization): pinned-slot copy
    auto b = ev.try_clone();
    ASSERT_TRUE(b);
    auto c = weak.lock();
    ASSERT_TRUE(c);
  }
  tmp.reset();
  EXPECT_EQ(ev.use_count(), ringkit::detail::kPinnedValue);  // pinned counts do not drift
  EXPECT_EQ(ev.generation(), gen);
  EXPECT_TRUE(holds(ev, 4, 16));
  // A pinned slot is never freed; restore the true count (1) so the test frees its pools.
  Access::set_refs(ev, 1);
  auto near = *pools.allocate(pattern(5, 16));
  Access::set_refs(near, ringkit::detail::kMaxRefs - 1);
  auto ok = near.try_clone();
  ASSERT_TRUE(ok);
  EXPECT_EQ(near.try_clone().error(), Errc::refcount_overflow);
  EXPECT_EQ(std::move(*ok).into_shared_token(2).error(), Errc::refcount_overflow);
  ASSERT_TRUE(*ok);  // unchanged on failure
  EXPECT_EQ(near.use_count(), ringkit::detail::kMaxRefs);
  ok->reset();
  Access::set_refs(near, 1);
}

TEST(EventPoolsTest, ExhaustionAndRecoveryInEveryClass) {
  for (const std::uint32_t batch : {0U, 1U, 4U, 32U}) {
    PoolConfig c = PoolConfig::custom(40, 20, 10, 5, 3);
    c.cache_batch = batch;
    auto pools = make(c);
    for (std::size_t k = 0; k < kFixed.size(); ++k) {
      const SizeClass cls = kFixed[k];
      const std::size_t n = ringkit::kClassBytes[k];
      std::vector<EventRef> held;
      for (std::uint32_t i = 0; i < c.slots[k]; ++i) {
        auto ev = pools.allocate(pattern(i, n));
        ASSERT_TRUE(ev) << "class " << k << " slot " << i << " batch " << batch;
        held.push_back(std::move(*ev));
      }
      auto more = pools.allocate(pattern(0, n));
      EXPECT_EQ(more.error(), Errc::pool_exhausted);
      EXPECT_EQ(pools.allocate_uninit(n).error(), Errc::pool_exhausted);
      auto st = pools.stats(cls);
      EXPECT_EQ(st.capacity, c.slots[k]);
      EXPECT_EQ(st.in_use, c.slots[k]);
      EXPECT_EQ(st.high_water, c.slots[k]);
      EXPECT_EQ(st.failed, 2U);
      EXPECT_EQ(st.slot_bytes, n);
      for (std::uint32_t i = 0; i < c.slots[k]; ++i) EXPECT_TRUE(holds(held[i], i, n));
      held.erase(held.begin() + 1);
      auto back = pools.allocate(pattern(99, n));
      ASSERT_TRUE(back);
      EXPECT_TRUE(holds(*back, 99, n));
      held.clear();
      back->reset();
      EXPECT_EQ(pools.stats(cls).in_use, 0U);
      EXPECT_EQ(pools.stats(cls).high_water, c.slots[k]);
      // Every slot can be taken again after all were released.
      for (std::uint32_t i = 0; i < c.slots[k]; ++i) held.push_back(*pools.allocate(pattern(i, n)));
      EXPECT_EQ(pools.allocate(pattern(0, n)).error(), Errc::pool_exhausted);
    }
  }
}

TEST(EventPoolsTest, XxlFallbackOnAndOff) {
  PoolConfig c = PoolConfig::custom(4, 4, 4, 4, 4);
  c.xxl_slots = 2;
  c.xxl_max_bytes = 1U << 20U;
  auto pools = make(c);
  auto a = pools.allocate(pattern(1, 20000), 9);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size_class(), SizeClass::xxl);
  EXPECT_TRUE(holds(*a, 1, 20000));
  EventRef a2 = *a;
  auto b = pools.allocate(pattern(2, 100000));
  ASSERT_TRUE(b);
  EXPECT_EQ(pools.allocate(pattern(3, 30000)).error(), Errc::pool_exhausted);
  EXPECT_EQ(pools.stats(SizeClass::xxl).in_use, 2U);
  EXPECT_EQ(pools.stats(SizeClass::xxl).failed, 1U);
  EXPECT_EQ(pools.allocate_uninit((1U << 20U) + 1).error(), Errc::too_large);
  WeakEventRef weak(*b);
  b->reset();
  EXPECT_EQ(weak.lock().error(), Errc::stale_handle);
  auto w = pools.allocate_uninit(50000, 5);
  ASSERT_TRUE(w);
  ringkit_test::fill_pattern(6, 0, w->writable());
  auto pub = std::move(*w).publish(40000);
  ASSERT_TRUE(pub);
  EXPECT_TRUE(holds(*pub, 6, 40000));
  EXPECT_EQ(pub->type(), 5U);
  a->reset();
  EXPECT_TRUE(holds(a2, 1, 20000));

  c.xxl_enabled = false;
  auto off = make(c);
  EXPECT_EQ(off.allocate(pattern(1, 16385)).error(), Errc::too_large);
  EXPECT_EQ(off.allocate_uninit(16385).error(), Errc::too_large);
  EXPECT_TRUE(off.allocate(pattern(1, 16384)));
}

TEST(EventPoolsTest, WriterFillsInPlace) {
  auto pools = make();
  auto w = pools.allocate_uninit(200, 3);
  ASSERT_TRUE(w);
  ASSERT_EQ(w->writable().size(), 200U);
  ringkit_test::fill_pattern(8, 0, w->writable());
  EXPECT_EQ(pools.stats(SizeClass::s).in_use, 1U);
  EXPECT_EQ(std::move(*w).publish(201).error(), Errc::over_commit);
  ASSERT_TRUE(*w);  // unchanged
  auto ev = std::move(*w).publish(150);
  ASSERT_TRUE(ev);
  EXPECT_FALSE(*w);
  EXPECT_TRUE(holds(*ev, 8, 150));
  EXPECT_EQ(ev->type(), 3U);
  {
    auto dropped = pools.allocate_uninit(10);
    ASSERT_TRUE(dropped);
    dropped->set_type(4);
    EXPECT_EQ(pools.stats(SizeClass::xs).in_use, 1U);
  }
  EXPECT_EQ(pools.stats(SizeClass::xs).in_use, 0U);
  auto full = *pools.allocate_uninit(64);
  auto whole = std::move(full).publish();
  EXPECT_EQ(whole.size(), 64U);
  EXPECT_FALSE(ringkit::EventWriter().writable().data());
  EXPECT_FALSE(ringkit::EventWriter().publish());
}

TEST(EventPoolsTest, HandlesKeepThePoolsAlive) {
  std::optional<EventPools> pools(make());
  auto ev = *pools->allocate(pattern(1, 3000), 1);
  WeakEventRef weak(ev);
  auto other = *pools->allocate(pattern(2, 10));
  WeakEventRef weak_other(other);
  other.reset();
  EventToken token = [&] {
    auto t = *pools->allocate(pattern(3, 500));
    return std::move(t).into_token();
  }();
  pools.reset();  // owner gone: memory stays while anything refers to it
  EXPECT_TRUE(holds(ev, 1, 3000));
  EXPECT_EQ(weak_other.lock().error(), Errc::stale_handle);
  auto locked = weak.lock();
  ASSERT_TRUE(locked);
  auto from = EventRef::from_token(token);
  ASSERT_TRUE(from);
  EXPECT_TRUE(holds(*from, 3, 500));
  ev.reset();
  locked->reset();
  from->reset();
  EXPECT_TRUE(weak.expired());  // weak handles keep the metadata readable
  // ASan/LSan check that the last of these frees the pools exactly once.
}

TEST(EventPoolsTest, ThreadExitBeforePoolDestruction) {
  auto pools = make(PoolConfig::custom(256, 32, 16, 8, 4));
  std::vector<EventRef> from_thread;
  std::thread t([&] {
    std::vector<EventRef> local;
    for (std::uint64_t i = 0; i < 200; ++i) local.push_back(*pools.allocate(pattern(i, 50)));
    for (std::uint64_t i = 0; i < 200; i += 2) from_thread.push_back(std::move(local[i]));
    local.clear();  // 100 released into this thread's cache
  });
  t.join();  // exit flushes the cache and publishes its counts
  EXPECT_EQ(pools.stats(SizeClass::xs).in_use, 100U);
  EXPECT_EQ(pools.stats(SizeClass::xs).high_water, 200U);
  std::vector<EventRef> all;
  all.reserve(156);
  for (int i = 0; i < 156; ++i) all.push_back(*pools.allocate(pattern(1, 8)));  // nothing stranded
  EXPECT_EQ(pools.allocate(pattern(1, 8)).error(), Errc::pool_exhausted);
  all.clear();
  for (std::uint64_t i = 0; i < 100; ++i) EXPECT_TRUE(holds(from_thread[i], i * 2, 50));
  { EventPools gone = std::move(pools); }
  from_thread.clear();  // the last release frees the pools
}

TEST(EventPoolsTest, PoolDestructionBeforeThreadExit) {
  std::optional<EventPools> pools(make());
  std::atomic<int> step{0};
  std::vector<EventRef> handed;
  std::thread t([&] {
    std::vector<EventRef> mine;
    for (std::uint64_t i = 0; i < 20; ++i) mine.push_back(*pools->allocate(pattern(i, 200)));
    for (std::uint64_t i = 0; i < 10; ++i) handed.push_back(std::move(mine[i]));
    mine.resize(15);  // 5 released into this thread's cache
    step.store(1, std::memory_order_release);
    while (step.load(std::memory_order_acquire) != 2) std::this_thread::yield();
    // The pools' owner is gone; this thread still has a cache entry and live events.
    for (std::uint64_t i = 10; i < 15; ++i) EXPECT_TRUE(holds(mine[i], i, 200));
    mine.clear();
    auto other = make();  // a new pool's slow path sweeps the closed pool's entry
    EXPECT_TRUE(other.allocate(pattern(1, 1)));
  });
  while (step.load(std::memory_order_acquire) != 1) std::this_thread::yield();
  pools.reset();
  step.store(2, std::memory_order_release);
  t.join();
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_TRUE(holds(handed[i], i, 200));
  handed.clear();  // last reference: frees the pools (LSan checks nothing leaked)
}

struct LateHolder {
  EventRef ev;
  WeakEventRef weak;
};

TEST(EventPoolsTest, ReleaseAfterTheThreadCacheWasDestroyed) {
  std::optional<EventPools> pools(make());
  WeakEventRef outside;
  std::thread t([&] {
    // Constructed before the thread's first pool call, so destroyed after its cache.
    thread_local LateHolder late;
    late.ev = *pools->allocate(pattern(7, 70));
    late.weak = WeakEventRef(late.ev);
    outside = late.weak;
  });
  t.join();
  EXPECT_TRUE(outside.expired());
  EXPECT_EQ(pools->stats(SizeClass::s).in_use, 0U);
  pools.reset();
}

TEST(EventPoolsTest, MorePoolsThanCacheEntries) {
  std::vector<EventPools> all;
  all.reserve(7);
  for (int i = 0; i < 7; ++i) all.push_back(make(PoolConfig::custom(16, 4, 4, 4, 4)));
  std::vector<EventRef> held;
  for (int round = 0; round < 50; ++round) {
    for (std::size_t p = 0; p < all.size(); ++p) {
      auto ev = all[p].allocate(pattern(static_cast<std::size_t>(round) * 10 + p, 32));
      ASSERT_TRUE(ev);
      held.push_back(std::move(*ev));
      if (held.size() > 40) held.erase(held.begin(), held.begin() + 20);
    }
  }
  for (std::size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(held[i].size(), 32U);
  }
  held.clear();
  EventPools::flush_thread_cache();
  for (auto& p : all) EXPECT_EQ(p.stats(SizeClass::xs).in_use, 0U);
  // After the flush every slot is back in the shared lists: all 16 can be taken.
  for (auto& p : all) {
    std::vector<EventRef> v;
    v.reserve(16);
    for (int i = 0; i < 16; ++i) v.push_back(*p.allocate(pattern(1, 1)));
    EXPECT_EQ(p.allocate(pattern(1, 1)).error(), Errc::pool_exhausted);
  }
}

TEST(EventPoolsTest, MovedFromPoolsRefuse) {
  auto pools = make();
  EventPools moved = std::move(pools);
  EXPECT_FALSE(pools.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(pools.allocate(pattern(1, 1)).error(), Errc::invalid_argument);
  EXPECT_EQ(pools.footprint(), 0U);
  EXPECT_EQ(pools.stats(SizeClass::xs).capacity, 0U);
  EXPECT_TRUE(moved.allocate(pattern(1, 1)));
  pools = std::move(moved);
  EXPECT_TRUE(pools.valid());
}

}  // namespace
