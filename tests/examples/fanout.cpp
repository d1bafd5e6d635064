// Fan-out example: events are copied once into pooled slots, their tokens go through a gated
// broadcast ring to three reader threads, every reader keeps its own EventRef, and a slot is
// freed only when the last reader drops it. Built and run by the tests (exit code 0 = ok).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <ringkit/broadcast.hpp>
#include <ringkit/event_pool.hpp>

int main() {
  constexpr int kEvents = 1000;
  constexpr std::uint32_t kReaders = 3;
  auto pools = ringkit::EventPools::create(ringkit::PoolConfig::production());
  auto ring = ringkit::BroadcastRing<ringkit::EventToken>::create(256);  // gated by default
  if (!pools || !ring) return 1;
  auto writer = ring->take_writer();
  if (!writer) return 2;

  std::vector<ringkit::BroadcastRing<ringkit::EventToken>::Reader> readers;
  for (std::uint32_t i = 0; i < kReaders; ++i) readers.push_back(*ring->subscribe());
  std::vector<std::vector<ringkit::EventRef>> kept(kReaders);  // each reader holds its events
  std::vector<int> bad(kReaders, 0);
  std::vector<std::thread> threads;
  for (std::uint32_t r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r, reader = std::move(readers[r])]() mutable {
      ringkit::EventToken token;
      while (reader.pop(token).status == ringkit::RecvStatus::ok) {
        auto ev = ringkit::EventRef::from_token(token);  // adopts this reader's reference
        if (!ev) {
          ++bad[r];
          continue;
        }
        std::uint64_t seq = 0;
        std::memcpy(&seq, ev->data(), sizeof seq);
        if (ev->size() != 64 || seq != kept[r].size()) ++bad[r];  // every event, in order
        kept[r].push_back(std::move(*ev));
      }
    });
  }

  std::vector<ringkit::WeakEventRef> watch;  // proves when each slot is freed
  for (std::uint64_t seq = 0; seq < kEvents; ++seq) {
    std::byte msg[64] = {};
    std::memcpy(msg, &seq, sizeof seq);
    auto ev = pools->allocate(msg, /*type=*/7);  // the one copy of the message
    if (!ev) return 3;
    watch.emplace_back(*ev);
    auto token = std::move(*ev).into_shared_token(kReaders);  // one reference per reader
    if (!token || writer->publish(*token) != ringkit::Errc::ok) return 4;
  }
  writer->close();  // readers drain, then see closed
  for (auto& t : threads) t.join();

  for (std::uint32_t r = 0; r < kReaders; ++r) {
    if (bad[r] != 0 || kept[r].size() != kEvents) return 5;
  }
  // Every slot is still alive (three readers hold it) until the last reader drops it.
  for (const auto& w : watch) {
    if (w.expired()) return 6;
  }
  kept[0].clear();
  kept[1].clear();
  for (const auto& w : watch) {
    if (w.expired()) return 7;  // the third reader still holds every event
  }
  kept[2].clear();
  for (const auto& w : watch) {
    if (!w.expired()) return 8;  // the last release freed the slot
  }
  std::printf("fanout: %d events to %u readers, every slot freed by its last reader\n", kEvents,
              kReaders);
  return 0;
}
