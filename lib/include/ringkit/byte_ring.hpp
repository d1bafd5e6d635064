// ringkit/byte_ring.hpp: single-producer/single-consumer byte ring with split halves.
//
// make_byte_ring(capacity) returns a ByteWriter and a ByteReader that share one page-aligned
// buffer (capacity: a power of two). Each half is single-owner; the two halves may live on
// different threads, and the storage is freed when both are gone. writable()/readable() return
// the free/filled bytes as at most two spans, in order, valid until the next commit()/consume()
// on the same half. io_slices() hands them to readv/writev as iovecs and commits/consumes what
// the call returned; it does not call back when there is nothing to offer (ring_full /
// ring_empty), so a zero-byte readv is never mistaken for EOF.
//
//   auto [writer, reader] = *ringkit::make_byte_ring(64 * 1024);
//   writer.io_slices([&](std::span<iovec> iov, std::size_t) {
//     return ::readv(fd, iov.data(), static_cast<int>(iov.size()));
//   });
//
// Layout (capacity C, counters are free-running 64-bit and wrap at 2^64):
//
//   shared core:  | tail (writer stores) | head (reader stores) | data*, C (immutable) |
//                   one cache line each -- no false sharing between the two counters
//   storage:      [ ....filled.... | ....free.... | ...filled... ]   index = counter & (C-1)
//                   ^head&(C-1)      ^tail&(C-1)
//
// Each half keeps its own counter in a private field and a cached copy of the other half's
// counter, reloaded (acquire) only when the cache says full/empty or a request does not fit in
// the cached space; publishing is one release store. The halves are also the mirrored ring's
// (ringkit/mirror_ring.hpp): one template, two layouts. Thread safety: single-owner per half.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include <sys/uio.h>

#include <ringkit/concepts.hpp>
#include <ringkit/detail/config.hpp>
#include <ringkit/detail/cursor.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

namespace ringkit {

/// Options of make_byte_ring().
struct ByteRingOptions {
  /// Starting value of both position counters. Counters are free-running and wrap at 2^64; a
  /// non-zero start resumes a stream's numbering (and lets tests exercise the wrap).
  std::uint64_t initial_position = 0;
};

namespace detail {

struct AlignedStorageDelete {
  void operator()(std::byte* p) const noexcept;
};
using AlignedStorage = std::unique_ptr<std::byte, AlignedStorageDelete>;

/// State shared by the two halves of a byte ring.
struct ByteRingCore {
  // Each counter has its own cache line: the writer stores tail, the reader stores head, and
  // each only loads the other's when its cached copy runs out.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> tail{0};  // bytes ever written (+ start)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head{0};  // bytes ever consumed (+ start)
  // Immutable after creation (own line, read-shared by both halves).
  alignas(kFalseSharingRange) std::byte* data = nullptr;
  std::size_t capacity = 0;
  bool mirrored = false;   // data()[i] aliases data()[i + capacity]
  AlignedStorage storage;  // plain rings
  MirrorRegion region;     // mirrored rings
  // Set once when a half is closed or destroyed; read rarely (end-of-stream checks).
  std::atomic<bool> writer_open{true};
  std::atomic<bool> reader_open{true};
};

/// Creates the shared core with plain page-aligned storage (mirror == nullptr) or a mirror
/// region per mirror's mode. Capacity must be a power of two (mirrored: >= the page size).
[[nodiscard]] Result<std::shared_ptr<ByteRingCore>> make_byte_ring_core(std::size_t capacity,
                                                                        std::uint64_t start,
                                                                        const MirrorMode* mode,
                                                                        const MirrorOptions& mo);

using ByteWriterLink =
    HalfLink<ByteRingCore, &ByteRingCore::writer_open, &ByteRingCore::reader_open>;
using ByteReaderLink =
    HalfLink<ByteRingCore, &ByteRingCore::reader_open, &ByteRingCore::writer_open>;

}  // namespace detail

template <bool Mirror>
class BasicByteWriter;
template <bool Mirror>
class BasicByteReader;
template <bool Mirror>
[[nodiscard]] bool rewind(BasicByteWriter<Mirror>& writer,
                          BasicByteReader<Mirror>& reader) noexcept;

/// The producer half of a byte ring. `Mirror` selects the view type: two segments (ByteWriter)
/// or one contiguous span (MirrorByteWriter). Move-only; a moved-from, closed or
/// default-constructed writer has capacity() == 0 and offers nothing. Single-owner.
// alignas: the cached head and the private tail are written on every call; keeping the writer
// on its own cache line stops false sharing with a reader object placed next to it.
template <bool Mirror>
class alignas(kFalseSharingRange) BasicByteWriter {
 public:
  /// What writable() returns: MutableSegments, or one std::span<std::byte> for mirrored rings.
  using view_type = std::conditional_t<Mirror, std::span<std::byte>, MutableSegments>;

  BasicByteWriter() noexcept = default;
  /// Internal: attaches to a core made by make_byte_ring()/make_mirror_byte_ring().
  explicit BasicByteWriter(std::shared_ptr<detail::ByteRingCore> core) noexcept
      : data_(core->data),
        mirrored_(Mirror && core->mirrored),
        cur_({&core->tail, &core->head}, core->capacity),
        link_(std::move(core)) {}

  /// Ends the stream: everything committed so far stays readable, then the reader sees
  /// peer_alive() == false. Leaves this writer empty (capacity() == 0). Idempotent.
  void close() noexcept { *this = BasicByteWriter(); }

  /// Total bytes the ring holds.
  [[nodiscard]] std::size_t capacity() const noexcept { return cur_.capacity(); }
  /// Bytes written so far plus the initial position (wraps at 2^64).
  [[nodiscard]] std::uint64_t position() const noexcept { return cur_.position(); }
  /// Bytes currently filled; a hint, since the reader may consume concurrently.
  [[nodiscard]] std::size_t size_hint() const noexcept { return cur_.size_hint(); }
  /// True unless moved-from, closed or default-constructed.
  [[nodiscard]] bool valid() const noexcept { return cur_.attached(); }
  /// True when the storage is double-mapped (writable() is then all the free space in one span);
  /// false for plain rings and for mirrored rings that fell back (MirrorMode::automatic).
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  /// True until the reader half is closed or destroyed (writing more is then pointless).
  [[nodiscard]] bool peer_alive() const noexcept { return link_.peer_alive(); }

  /// The free space: at most two spans in order (ByteWriter), or one contiguous span
  /// (MirrorByteWriter; when !mirrored() it ends at the wrap: io_slices() offers both parts).
  /// Empty when full (would block). Invalidated by commit(), write(), io_slices(), moving; the
  /// reader's concurrent consume() only makes the free space grow (the view stays valid).
  [[nodiscard]] view_type writable() noexcept RINGKIT_LIFETIMEBOUND {
    if constexpr (Mirror) {
      return writable_segments().first();
    } else {
      return writable_segments();
    }
  }

  /// The free space as Segments for both ring kinds: one span when mirrored(), else up to two
  /// (a mirrored ring in fallback shows both parts here). Generic code (adapters) uses this.
  /// Invalidated as writable().
  [[nodiscard]] MutableSegments writable_segments() noexcept RINGKIT_LIFETIMEBOUND {
    return segments(cur_.room_all());
  }

  /// Publishes the first `n` bytes of the free space to the reader.
  /// Returns Errc::over_commit and publishes nothing if `n` exceeds the free space.
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (!cur_.fits(n)) [[unlikely]]
      return Errc::over_commit;
    cur_.publish(n);
    return Errc::ok;
  }

  /// Copies as much of `src` as fits and publishes it; returns the bytes copied (0 when full).
  [[nodiscard]] std::size_t write(std::span<const std::byte> src) noexcept {
    const std::size_t free = cur_.room_for(src.size());
    const std::size_t n = free < src.size() ? free : src.size();
    if (n == 0) return 0;
    detail::copy_into_ring(data_.get(), cur_.run(n, contiguous()), src.data());
    cur_.publish(n);
    return n;
  }
  /// Same as write(span), for raw memory.
  [[nodiscard]] std::size_t write(const void* src, std::size_t len) noexcept {
    return write(std::span<const std::byte>(static_cast<const std::byte*>(src), len));
  }

  /// Offers the free space to `f(std::span<iovec> iov, std::size_t total)` and commits what `f`
  /// returns (e.g. readv's result); one iovec when mirrored(), else up to two. `f` is not called
  /// when the ring is full (ring_full). A negative return commits nothing (callback_error); more
  /// than `total` commits nothing (over_report). The cached head is refreshed first so `f` sees
  /// all the free space.
  template <slice_callback F>
  [[nodiscard]] SliceResult io_slices(F&& f) {
    const MutableSegments seg = writable_segments();
    if (seg.empty()) return {0, Errc::ring_full};
    iovec iov[2];
    const std::size_t count = seg.to_iovecs(std::span<iovec, 2>(iov));
    const std::size_t total = seg.bytes();
    const auto r = static_cast<std::ptrdiff_t>(std::invoke(f, std::span<iovec>(iov, count), total));
    if (r < 0) return {0, Errc::callback_error};
    if (static_cast<std::size_t>(r) > total) return {0, Errc::over_report};
    if (r > 0) cur_.publish(static_cast<std::size_t>(r));
    return {static_cast<std::size_t>(r), Errc::ok};
  }

  /// The whole double mapping (2 x capacity() bytes, both views) of a mirrored ring, e.g. to
  /// register it as an io_uring fixed buffer; empty when !mirrored(). Valid while the ring lives.
  [[nodiscard]] std::span<std::byte> mapping() const noexcept {
    return mirrored_ ? std::span<std::byte>(data_.get(), 2 * capacity()) : std::span<std::byte>{};
  }

  /// The ring's memory for positions [pos, pos + n), n <= capacity() (empty otherwise), as at
  /// most two spans (one when mirrored()), whatever half owns those bytes now. For adapters that
  /// own both halves of one ring on one thread (net::DynamicRing); anything else must use
  /// writable()/readable(). Invalidated when the ring is destroyed.
  [[nodiscard]] MutableSegments segments_at(std::uint64_t pos,
                                            std::size_t n) const noexcept RINGKIT_LIFETIMEBOUND {
    if (n == 0 || n > capacity()) return {};
    const detail::Run r = detail::ring_run(pos, n, capacity(), contiguous());
    return {std::span<std::byte>(data_.get() + r.index, r.first),
            std::span<std::byte>(data_.get(), r.second)};
  }

 private:
  [[nodiscard]] bool contiguous() const noexcept { return Mirror && mirrored_; }
  [[nodiscard]] MutableSegments segments(std::size_t free) const noexcept {
    if (free == 0) return {};
    return segments_at(cur_.position(), free);
  }

  template <bool M>
  friend bool rewind(BasicByteWriter<M>& writer, BasicByteReader<M>& reader) noexcept;

  detail::Moved<std::byte*> data_;
  detail::Moved<bool> mirrored_;
  detail::ProducerCursor cur_;
  detail::ByteWriterLink link_;  // last: a move-assignment closes the old ring after the rest moved
};

/// The consumer half; see BasicByteWriter. Move-only; a moved-from, closed or
/// default-constructed reader has capacity() == 0 and offers nothing. Single-owner.
// alignas: see BasicByteWriter.
template <bool Mirror>
class alignas(kFalseSharingRange) BasicByteReader {
 public:
  /// What readable() returns: ConstSegments, or one std::span<const std::byte> (mirrored rings).
  using view_type = std::conditional_t<Mirror, std::span<const std::byte>, ConstSegments>;

  BasicByteReader() noexcept = default;
  /// Internal: attaches to a core made by make_byte_ring()/make_mirror_byte_ring().
  explicit BasicByteReader(std::shared_ptr<detail::ByteRingCore> core) noexcept
      : data_(core->data),
        mirrored_(Mirror && core->mirrored),
        cur_({&core->tail, &core->head}, core->capacity),
        link_(std::move(core)) {}

  /// Stops reading: the writer then sees peer_alive() == false. Leaves this reader empty
  /// (capacity() == 0). Idempotent.
  void close() noexcept { *this = BasicByteReader(); }

  /// Total bytes the ring holds.
  [[nodiscard]] std::size_t capacity() const noexcept { return cur_.capacity(); }
  /// Bytes consumed so far plus the initial position (wraps at 2^64).
  [[nodiscard]] std::uint64_t position() const noexcept { return cur_.position(); }
  /// Bytes currently filled; a hint, since the writer may commit concurrently.
  [[nodiscard]] std::size_t size_hint() const noexcept { return cur_.size_hint(); }
  /// True unless moved-from, closed or default-constructed.
  [[nodiscard]] bool valid() const noexcept { return cur_.attached(); }
  /// True when the storage is double-mapped (readable() is then all the data in one span).
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  /// True until the writer half is closed or destroyed. Everything the writer committed before
  /// closing is visible once this returns false, so a reader that sees !peer_alive() and then
  /// an empty ring has reached the end of the stream.
  [[nodiscard]] bool peer_alive() const noexcept { return link_.peer_alive(); }

  /// The filled bytes: at most two spans in order (ByteReader), or one contiguous span
  /// (MirrorByteReader; when !mirrored() it ends at the wrap: io_slices() offers both parts).
  /// Always shows everything published (a parser waiting for the rest of a frame keeps calling
  /// it). Empty when empty (would block). Invalidated by consume(), read(), io_slices(), moving;
  /// the writer's concurrent commit() only makes the filled space grow (the view stays valid).
  [[nodiscard]] view_type readable() noexcept RINGKIT_LIFETIMEBOUND {
    if constexpr (Mirror) {
      return readable_segments().first();
    } else {
      return readable_segments();
    }
  }

  /// The filled bytes as Segments for both ring kinds: one span when mirrored(), else up to
  /// two (a mirrored ring in fallback shows both parts here). Generic code uses this.
  /// Invalidated as readable().
  [[nodiscard]] ConstSegments readable_segments() noexcept RINGKIT_LIFETIMEBOUND {
    return segments(cur_.room_all());
  }

  /// Releases the first `n` filled bytes to the writer.
  /// Returns Errc::over_consume and releases nothing if `n` exceeds the filled bytes.
  [[nodiscard]] Errc consume(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (!cur_.fits(n)) [[unlikely]]
      return Errc::over_consume;
    cur_.publish(n);
    return Errc::ok;
  }

  /// Copies up to dst.size() bytes out and consumes them; returns the bytes copied (0 when empty).
  [[nodiscard]] std::size_t read(std::span<std::byte> dst) noexcept {
    const std::size_t n = copy_out(dst);
    if (n != 0) cur_.publish(n);
    return n;
  }
  /// Same as read(span), for raw memory.
  [[nodiscard]] std::size_t read(void* dst, std::size_t len) noexcept {
    return read(std::span<std::byte>(static_cast<std::byte*>(dst), len));
  }
  /// Copies up to dst.size() bytes out without consuming them; returns the bytes copied.
  [[nodiscard]] std::size_t peek(std::span<std::byte> dst) noexcept { return copy_out(dst); }

  /// Offers the filled bytes to `f(std::span<iovec> iov, std::size_t total)` and consumes what
  /// `f` returns (e.g. writev's result); one iovec when mirrored(), else up to two. `f` is not
  /// called when the ring is empty (ring_empty). A negative return consumes nothing
  /// (callback_error); more than `total` consumes nothing (over_report). The cached tail is
  /// refreshed first so `f` sees all the data.
  template <slice_callback F>
  [[nodiscard]] SliceResult io_slices(F&& f) {
    const ConstSegments seg = readable_segments();
    if (seg.empty()) return {0, Errc::ring_empty};
    iovec iov[2];
    const std::size_t count = seg.to_iovecs(std::span<iovec, 2>(iov));
    const std::size_t total = seg.bytes();
    const auto r = static_cast<std::ptrdiff_t>(std::invoke(f, std::span<iovec>(iov, count), total));
    if (r < 0) return {0, Errc::callback_error};
    if (static_cast<std::size_t>(r) > total) return {0, Errc::over_report};
    if (r > 0) cur_.publish(static_cast<std::size_t>(r));
    return {static_cast<std::size_t>(r), Errc::ok};
  }

  /// The whole double mapping (2 x capacity() bytes) of a mirrored ring, e.g. to register it as
  /// an io_uring fixed buffer; empty when !mirrored(). Valid while the ring lives.
  [[nodiscard]] std::span<const std::byte> mapping() const noexcept {
    return mirrored_ ? std::span<const std::byte>(data_.get(), 2 * capacity())
                     : std::span<const std::byte>{};
  }

 private:
  [[nodiscard]] bool contiguous() const noexcept { return Mirror && mirrored_; }
  [[nodiscard]] std::size_t copy_out(std::span<std::byte> dst) noexcept {
    const std::size_t avail = cur_.room_for(dst.size());
    const std::size_t n = avail < dst.size() ? avail : dst.size();
    if (n == 0) return 0;
    detail::copy_from_ring(dst.data(), cur_.run(n, contiguous()), data_.get());
    return n;
  }
  [[nodiscard]] ConstSegments segments(std::size_t avail) const noexcept {
    if (avail == 0) return {};
    const detail::Run r = cur_.run(avail, contiguous());
    return {std::span<const std::byte>(data_.get() + r.index, r.first),
            std::span<const std::byte>(data_.get(), r.second)};
  }

  template <bool M>
  friend bool rewind(BasicByteWriter<M>& writer, BasicByteReader<M>& reader) noexcept;

  detail::Moved<const std::byte*> data_;
  detail::Moved<bool> mirrored_;
  detail::ConsumerCursor cur_;
  detail::ByteReaderLink link_;  // last: see BasicByteWriter
};

/// Rewinds an empty ring: moves both halves' positions forward to the next multiple of
/// capacity(), so that the next bytes written land at the start of the storage. For an owner
/// of both halves of one ring on one thread (a relay connection, an echo buffer) whose ring is
/// emptied between messages: it then keeps reusing its first pages, which stay in cache and
/// are the only ones that become resident, instead of cycling through the whole capacity.
/// Returns true when the ring was empty (and now starts at offset 0; also when it already
/// did), false, changing nothing, when it holds bytes or the halves are not the two valid
/// halves of one ring. Positions stay free-running: they jump by the bytes skipped.
/// Precondition: no other thread uses either half, and no operation (a submitted receive, a
/// view) still refers to the ring's free or filled space. Invalidates every view of both halves.
template <bool Mirror>
bool rewind(BasicByteWriter<Mirror>& writer, BasicByteReader<Mirror>& reader) noexcept {
  detail::ProducerCursor& w = writer.cur_;
  detail::ConsumerCursor& r = reader.cur_;
  if (!w.attached() || w.own_counter() != r.peer_counter()) return false;
  const std::uint64_t pos = w.position();
  if (r.position() != pos) return false;  // both private positions: exact on the owner thread
  const std::uint64_t mask = w.capacity() - 1;
  const std::uint64_t next = (pos + mask) & ~mask;  // wraps at 2^64 like every position
  if (next != pos) {
    r.jump(next);
    w.jump(next);
  }
  return true;
}

/// The producer half of a two-segment byte ring.
using ByteWriter = BasicByteWriter<false>;
/// The consumer half of a two-segment byte ring.
using ByteReader = BasicByteReader<false>;

/// The two halves of one byte ring: `auto [writer, reader] = *make_byte_ring(cap);`
struct ByteRing {
  ByteWriter writer;
  ByteReader reader;
};

/// Largest capacity make_byte_ring() accepts.
inline constexpr std::size_t kMaxByteRingCapacity = std::size_t{1} << 40;

/// Creates a byte ring of `capacity` bytes (a power of two, 1 .. kMaxByteRingCapacity) with
/// page-aligned storage. Errors: Errc::invalid_capacity; ENOMEM (system category).
[[nodiscard]] Result<ByteRing> make_byte_ring(std::size_t capacity,
                                              const ByteRingOptions& options = {});

static_assert(byte_writer<ByteWriter>);
static_assert(byte_reader<ByteReader>);

}  // namespace ringkit
