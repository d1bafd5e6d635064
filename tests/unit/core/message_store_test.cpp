// MessageStore: storage by size (pool slot, ring buffer, XXL heap), one handle type, retryable
// vs final exhaustion, in-place writers, handles outliving the store, release on other threads.
#include <cstddef>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/message_store.hpp>  // first: the header is self-contained

#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::MessageRef;
using ringkit::MessageSource;
using ringkit::MessageStore;
using ringkit::MessageStoreOptions;
using ringkit::PoolConfig;

std::vector<std::byte> stream(std::uint64_t seed, std::size_t n) {
  std::vector<std::byte> v(n);
  ringkit_test::fill_pattern(seed, 0, v);
  return v;
}

bool holds(const MessageRef& m, std::uint64_t seed, std::size_t n) {
  return m.size() == n && !ringkit_test::first_mismatch(seed, 0, m.bytes()).has_value();
}

Errc errc_of(const std::error_code& ec) {
  return ec.category() == ringkit::error_category() ? static_cast<Errc>(ec.value())
                                                    : Errc::invalid_argument;
}

TEST(MessageStore, SmallMessagesGoToPoolSlotsLargeOnesToTheRing) {
  auto store = MessageStore::create({});
  ASSERT_TRUE(store) << store.message();
  for (const std::size_t n : {0UL, 1UL, 64UL, 65UL, 1000UL, 16384UL}) {
    const auto bytes = stream(n, n);
    auto m = store->copy(bytes, 9);
    ASSERT_TRUE(m) << n << ": " << m.message();
    EXPECT_EQ(m->source(), MessageSource::pool) << n;
    ASSERT_NE(m->event(), nullptr);
    EXPECT_EQ(m->event()->type(), 9U);
    EXPECT_TRUE(holds(*m, n, n)) << n;
  }
  for (const std::size_t n : {16385UL, 65536UL, 1000000UL}) {
    const auto bytes = stream(n, n);
    auto m = store->copy(bytes);
    ASSERT_TRUE(m) << n << ": " << m.message();
    EXPECT_EQ(m->source(), MessageSource::ring) << n;
    EXPECT_EQ(m->event(), nullptr);
    EXPECT_TRUE(holds(*m, n, n)) << n;
  }
  EXPECT_EQ(store->stats().pool_messages, 6U);
  EXPECT_EQ(store->stats().ring_messages, 3U);
}

TEST(MessageStore, CopiesShareTheBytesAndTheLastReleaseFrees) {
  MessageStoreOptions o;
  o.pools = PoolConfig::custom(1, 1, 1, 1, 1);
  o.pools.xxl_enabled = false;
  o.ring_bytes = std::size_t{64} * 1024;
  auto store = MessageStore::create(o);
  ASSERT_TRUE(store) << store.message();
  const auto small = stream(1, 100);
  auto a = store->copy(small);
  ASSERT_TRUE(a);
  MessageRef b = *a;  // copy: same bytes
  EXPECT_EQ(b.data(), a->data());
  // The one S slot is taken while either copy lives.
  auto again = store->copy(small);
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), Errc::pool_exhausted);
  EXPECT_TRUE(ringkit::is_retryable(Errc::pool_exhausted));
  a->reset();
  EXPECT_FALSE(store->copy(small)) << "the slot must stay taken while a copy lives";
  b.reset();
  auto after = store->copy(small);
  ASSERT_TRUE(after) << "the last release frees the slot: " << after.message();
  EXPECT_TRUE(holds(*after, 1, 100));
  EXPECT_EQ(store->stats().retryable_failures, 2U);
}

TEST(MessageStore, RingExhaustionIsRetryableNeverFitsIsFinal) {
  MessageStoreOptions o;
  o.pools.xxl_enabled = false;  // large messages only in the ring
  o.ring_bytes = std::size_t{128} * 1024;
  o.ring_mode = ringkit::MirrorMode::never;
  auto store = MessageStore::create(o);
  ASSERT_TRUE(store) << store.message();
  const auto big = stream(2, std::size_t{50} * 1024);
  auto a = store->copy(big);
  auto b = store->copy(big);
  ASSERT_TRUE(a && b);
  auto c = store->copy(big);
  ASSERT_FALSE(c);
  EXPECT_EQ(errc_of(c.error()), Errc::head_in_use);
  a->reset();
  b->reset();
  auto d = store->copy(big);
  ASSERT_TRUE(d) << "retry after releases: " << d.message();
  EXPECT_TRUE(holds(*d, 2, big.size()));
  auto huge = store->copy(stream(3, std::size_t{200} * 1024));
  ASSERT_FALSE(huge);
  EXPECT_EQ(errc_of(huge.error()), Errc::never_fits);
  EXPECT_FALSE(ringkit::is_retryable(Errc::never_fits));
  EXPECT_EQ(store->stats().final_failures, 1U);
}

TEST(MessageStore, WithoutRingLargeMessagesUseTheHeapOnlyIfAllowed) {
  MessageStoreOptions o;
  o.ring_bytes = 0;
  auto heap = MessageStore::create(o);
  ASSERT_TRUE(heap) << heap.message();
  EXPECT_EQ(heap->ring(), nullptr);
  auto m = heap->copy(stream(4, 100000));
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->source(), MessageSource::pool);
  EXPECT_EQ(m->event()->size_class(), ringkit::SizeClass::xxl);
  EXPECT_TRUE(holds(*m, 4, 100000));
  EXPECT_EQ(heap->stats().heap_messages, 1U);

  o.pools.xxl_enabled = false;
  auto strict = MessageStore::create(o);
  ASSERT_TRUE(strict);
  auto no = strict->copy(stream(4, 100000));
  ASSERT_FALSE(no);
  EXPECT_EQ(errc_of(no.error()), Errc::too_large);
  EXPECT_EQ(strict->max_message(), 16384U);
}

TEST(MessageStore, InPlaceWritersPublishOnceAndFreeWhenDropped) {
  MessageStoreOptions o;
  o.pools = PoolConfig::custom(1, 1, 1, 1, 1);
  o.ring_bytes = std::size_t{64} * 1024;
  o.pools.xxl_enabled = false;
  auto store = MessageStore::create(o);
  ASSERT_TRUE(store);
  for (const std::size_t n : {40UL, 30000UL}) {
    auto w = store->allocate(n);
    ASSERT_TRUE(w) << w.message();
    ASSERT_GE(w->writable().size(), n);
    ringkit_test::fill_pattern(5, 0, w->writable().first(n));
    auto over = std::move(*w).publish(w->writable().size() + 1);
    ASSERT_FALSE(over);
    EXPECT_EQ(errc_of(over.error()), Errc::over_commit);
    auto m = std::move(*w).publish(n);  // the writer is unchanged by the failed publish
    ASSERT_TRUE(m) << m.message();
    EXPECT_TRUE(holds(*m, 5, n));
    auto empty = std::move(*w).publish(0);
    EXPECT_FALSE(empty) << "a published writer is empty";
  }
  {
    auto dropped = store->allocate(40);  // never published
    ASSERT_TRUE(dropped);
  }
  EXPECT_TRUE(store->allocate(40)) << "dropping an unpublished writer frees its slot";
}

TEST(MessageStore, HandlesOutliveTheStoreAndReleaseOnOtherThreads) {
  std::vector<MessageRef> kept;
  {
    auto store = MessageStore::create({});
    ASSERT_TRUE(store);
    for (std::size_t i = 0; i < 64; ++i) {
      const std::size_t n = i % 2 == 0 ? 200 : 20000;
      auto m = store->copy(stream(100 + i, n));
      ASSERT_TRUE(m) << m.message();
      kept.push_back(*m);
    }
  }  // the store is gone; the pools and the ring store live on in the handles
  std::thread t([moved = std::move(kept)]() mutable {
    for (std::size_t i = 0; i < moved.size(); ++i) {
      EXPECT_TRUE(holds(moved[i], 100 + i, i % 2 == 0 ? 200 : 20000)) << i;
    }
    moved.clear();  // the last references, released on this thread
  });
  t.join();
}

}  // namespace
