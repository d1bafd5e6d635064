// Stress test of the frame codecs across threads: a producer thread encodes frames of seeded
// pseudo-random sizes and contents (LengthPrepender with a varint length, or DelimiterWriter
// lines) into an SPSC byte ring of every kind; the consumer decodes them with decode_into()
// into a MessageStore and checks every byte of every message, its order, and the clean end of
// the stream. Bounded by counts only; waits yield, so it finishes on 2 cores.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include <sched.h>

#include <gtest/gtest.h>

#include <ringkit/framing.hpp>  // first: the header is self-contained
#include <ringkit/message_store.hpp>

#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

namespace {

using ringkit::Errc;
using ringkit::FrameStatus;

#ifdef RINGKIT_TEST_SANITIZED
constexpr std::size_t kFrames = 3'000;
#else
constexpr std::size_t kFrames = 40'000;
#endif

std::size_t frame_size(std::size_t i) { return ringkit_test::mix64(i) % 700; }
/// Line bodies: letters only (no delimiter), from the pattern stream.
char line_char(std::size_t i, std::size_t k) {
  return static_cast<char>('a' + std::to_integer<unsigned>(ringkit_test::pattern_byte(i, k)) % 26);
}

template <class Kind>
class FramingStress : public ::testing::Test {};
TYPED_TEST_SUITE(FramingStress, ringkit_test::AllRingKinds, ringkit_test::KindName);

template <class Ring, class Encode, class Decoder, class Check>
void run_stream(Ring& ring, Encode encode, Decoder& dec, Check check) {
  std::thread producer([&, w = std::move(ring.writer)]() mutable {
    std::vector<std::byte> body;
    for (std::size_t i = 0; i < kFrames; ++i) {
      for (;;) {
        const Errc e = encode(w, i, body);
        if (e == Errc::ok) break;
        if (e != Errc::ring_full) {
          ADD_FAILURE() << "encode " << i << ": " << ringkit::describe(e);
          return;
        }
        sched_yield();
      }
    }
  });  // the writer is destroyed (closed) when the thread ends
  auto store = ringkit::MessageStore::create({});
  ASSERT_TRUE(store) << store.message();
  std::size_t next = 0;
  bool ok = true;
  for (;;) {
    const bool alive = ring.reader.peer_alive();  // before decoding: all bytes are visible then
    const ringkit::DecodeRun run =
        ringkit::decode_into(ring.reader, dec, *store, [&](const ringkit::MessageRef& m) {
          ok = ok && check(next, m.bytes());
          ++next;
          return ok;
        });
    if (!ok || run.status == FrameStatus::error) break;
    if (!alive && run.status == FrameStatus::need_more) break;
    if (run.frames == 0) sched_yield();
  }
  producer.join();
  EXPECT_TRUE(ok) << "message " << next - 1 << " differs";
  EXPECT_EQ(next, kFrames);
  EXPECT_EQ(dec.on_eof(ring.reader.readable_segments()), Errc::ok);
}

TYPED_TEST(FramingStress, LengthPrefixedFramesAcrossThreads) {
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, std::max<std::size_t>(TypeParam::min_capacity(), 4096),
                            ~std::uint64_t{0} - 5000);
  const ringkit::LengthFieldOptions o{.length_width = ringkit::LengthWidth::leb128_u32};
  const auto enc = ringkit::LengthPrepender::create(o);
  auto dec = ringkit::LengthFieldDecoder::create(o);
  ASSERT_TRUE(enc && dec);
  run_stream(
      ring,
      [&](auto& w, std::size_t i, std::vector<std::byte>& body) {
        body.resize(frame_size(i));
        ringkit_test::fill_pattern(i, 0, body);
        return enc->write(w, body);
      },
      *dec,
      [](std::size_t i, std::span<const std::byte> got) {
        return got.size() == frame_size(i) && !ringkit_test::first_mismatch(i, 0, got);
      });
}

TYPED_TEST(FramingStress, LinesAcrossThreads) {
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, std::max<std::size_t>(TypeParam::min_capacity(), 4096),
                            123);
  const auto opts = ringkit::DelimiterOptions::line_mode();
  const auto enc = ringkit::DelimiterWriter::create(opts);
  auto dec = ringkit::DelimiterDecoder::create(opts);
  ASSERT_TRUE(enc && dec);
  run_stream(
      ring,
      [&](auto& w, std::size_t i, std::vector<std::byte>& body) {
        body.resize(frame_size(i));
        for (std::size_t k = 0; k < body.size(); ++k) body[k] = std::byte(line_char(i, k));
        return enc->write(w, body);
      },
      *dec,
      [](std::size_t i, std::span<const std::byte> got) {
        if (got.size() != frame_size(i)) return false;
        for (std::size_t k = 0; k < got.size(); ++k) {
          if (got[k] != std::byte(line_char(i, k))) return false;
        }
        return true;
      });
}

}  // namespace
