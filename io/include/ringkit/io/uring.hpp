// ringkit/io/uring.hpp: an io_uring engine whose buffers are ring halves (liburing).
//
// Uring::create() sets up one io_uring (COOP_TASKRUN when the kernel has it; SINGLE_ISSUER,
// DEFER_TASKRUN and SQPOLL on request; each falls back gracefully). Operations take ring halves
// directly: readv(fd, writer) reads into the writer's free space (one iovec for a mirrored ring, up
// to two otherwise) and commits exactly the bytes read on completion; writev(fd, reader) writes the
// reader's data and consumes what was written; recv/send do the same with one span (mirrored
// rings, IORING_OP_RECV/SEND). accept (multishot), connect, close, poll (readiness), timeout and
// cancel complete the set. recv_multishot() receives into the engine's own provided buffers
// (a kernel buffer ring, UringOptions::recv_buffers) and hands each arrival to its handler as a
// span to copy out: one armed operation per socket for as long as the stream lasts.
//
//   auto ring = *ringkit::io::Uring::create();
//   (void)ring.readv(sock, writer, [&](const ringkit::io::OpResult& r) {
//     if (r.status == ringkit::io::IoStatus::eof) ...;   // bytes are already committed on ok
//   });
//   while (running) (void)ring.run_once(std::chrono::milliseconds(100));
//
// Ownership: while a readv/recv is in flight the engine owns that writer's free space; the
// caller must not commit into it (or destroy/move the half) until the handler has run. A second
// read on the same writer (or write on the same reader) while one is in flight is rejected with
// Errc::busy, not undefined behaviour. The iovecs live in the operation's state until its
// completion. Completion handlers are stored in place (a slab of op states, no heap allocation
// per operation); a handler larger than kHandlerBytes does not compile. The slab grows in chunks
// of 256 slots up to UringOptions::max_ops (an allocation only when the number of ops in flight
// reaches a new high). Submissions are batched: one io_uring_enter per run_once().
//
// Every submitting call returns a Submit: Errc::ok with the op's id (its handler will run exactly
// once, or once per multishot completion), or the reason nothing was submitted (the handler is
// destroyed without running): pool_exhausted (max_ops in flight), queue_full (the SQ is full and
// the kernel took none of it), invalid_argument (a bad descriptor or argument), busy (that half
// already has an op in flight), ring_full / ring_empty (no space / no data to offer).
//
// If io_uring is unavailable (ENOSYS, EPERM, /proc/sys/kernel/io_uring_disabled), create()
// returns that error with context "io_uring_queue_init_params".
//
// Thread safety: single-owner — one thread submits and runs completions (handlers run inside
// run_once() on that thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include <sys/socket.h>
#include <sys/uio.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/concepts.hpp>
#include <ringkit/error.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/result.hpp>

namespace ringkit::io {

/// Options of Uring::create().
struct UringOptions {
  unsigned entries = 256;  ///< submission queue size (power of two; rounded by the kernel)
  bool sqpoll = false;     ///< kernel-side submission polling thread
  unsigned sqpoll_idle_ms = 1000;
  /// IORING_SETUP_SINGLE_ISSUER when available: only the creating thread may then submit, so
  /// it is off by default (create and run the ring on the same thread before turning it on).
  bool single_issuer = false;
  bool coop_taskrun = true;  ///< IORING_SETUP_COOP_TASKRUN when available
  /// Most operations in flight at once (the slab grows up to it); 0 = 2 x entries. A server
  /// sizes it from its connection limit (ops per connection x connections).
  std::size_t max_ops = 0;
  /// Use READ_FIXED/WRITE_FIXED for single-iovec reads/writes that fall inside a buffer given
  /// to register_buffers() (a mirrored ring's whole double mapping, see fixed_buffer()).
  bool use_fixed_buffers = true;
  /// IORING_SETUP_DEFER_TASKRUN when available (needs single_issuer; Linux 6.1): completions
  /// are processed only inside run_once(), never by interrupting the thread elsewhere.
  bool defer_taskrun = false;
  /// recv() waits for readiness before its first attempt (IORING_RECVSEND_POLL_FIRST).
  bool recv_poll_first = false;
  /// Provided receive buffers for recv_multishot() (one buffer ring): how many (a power of two,
  /// at most 32768; 0 = none) ...
  unsigned recv_buffers = 0;
  /// ... and the bytes of each (256 .. 1 MiB). Their memory is one anonymous mapping, resident
  /// only once the kernel has filled a buffer. A kernel without buffer rings (before 5.19)
  /// leaves has_recv_multishot() false; create() still succeeds.
  std::size_t recv_buffer_size = 4096;
  /// Completion batching (Linux 6.12, IORING_FEAT_MIN_TIMEOUT; ignored where missing): a wait
  /// in run_once() returns once `wait_batch` completions are there, or once `min_wait` has
  /// passed with at least one, so a busy loop handles more completions per system call and
  /// wake-up at the cost of up to `min_wait` extra latency. 0: return at the first completion.
  std::chrono::microseconds min_wait{0};
  unsigned wait_batch = 16;
};

/// The memory to register for a mirrored ring half (both views, 2 x capacity bytes), so every
/// contiguous span it hands out lies inside one fixed buffer. Empty for a non-mirrored half.
template <class Half>
requires byte_writer<Half> || byte_reader<Half>
[[nodiscard]] iovec fixed_buffer(const Half& half) noexcept {
  const auto map = half.mapping();  // empty unless mirrored
  if (map.empty()) return {};
  // iovec has no const variant; a reader's buffer is only ever read by the kernel (WRITE_FIXED).
  return {const_cast<std::byte*>(map.data()), map.size()};  // NOLINT(*-const-cast)
}

/// What a completed operation reports to its handler.
struct OpResult {
  std::size_t bytes = 0;           ///< readv/writev/recv/send: bytes committed/consumed
  IoStatus status = IoStatus::ok;  ///< ok, eof (read of 0), would_block, error, cancelled
  int err = 0;                     ///< errno when status == error
  int fd = -1;                     ///< accept: the new descriptor (caller owns it)
  bool more = false;               ///< multishot accept: more completions will follow
  std::uint32_t events = 0;        ///< poll: the ready events (POLLIN, POLLHUP, ...)
  /// recv_multishot: the bytes received (bytes == data.size()), in one of the engine's provided
  /// buffers. Valid only until the handler returns (the buffer then goes back to the kernel):
  /// copy what you keep.
  std::span<const std::byte> data{};

  [[nodiscard]] bool ok() const noexcept { return status == IoStatus::ok; }
  [[nodiscard]] std::error_code error() const noexcept {
    return status == IoStatus::error ? std::error_code(err, std::system_category())
                                     : std::error_code{};
  }
};

/// Identifies an in-flight operation (for cancel()).
struct OpId {
  std::uint64_t value = 0;
  [[nodiscard]] bool valid() const noexcept { return value != 0; }
};

/// Result of a submission: errc == ok and the op's id, or why nothing was submitted:
/// pool_exhausted (no free op slot: max_ops in flight), queue_full (no submission queue entry,
/// even after flushing), invalid_argument (bad descriptor or argument), busy (that half already
/// has an op in flight), ring_full / ring_empty (nothing to offer).
struct [[nodiscard]] Submit {
  Errc errc = Errc::ok;
  OpId id{};
  explicit operator bool() const noexcept { return errc == Errc::ok; }
};

/// Largest completion handler stored in place.
inline constexpr std::size_t kHandlerBytes = 64;

/// A completion handler: callable as void(const OpResult&), nothrow-constructible from what the
/// caller passes and nothrow-movable. It is stored in place (no heap): one larger than
/// kHandlerBytes is rejected by a static_assert that says so.
template <class F>
concept op_handler = std::is_invocable_v < std::remove_cvref_t<F>
&, const OpResult& > &&std::is_nothrow_constructible_v<std::remove_cvref_t<F>, F&&>&&
                         std::is_nothrow_move_constructible_v<std::remove_cvref_t<F>>;

namespace detail {

/// A callable a completion handler can be built from (and not the handler type itself).
template <class F, class Self>
concept op_callable = !std::is_same_v<std::remove_cvref_t<F>, Self> &&
                      std::is_invocable_v<std::remove_cvref_t<F>&, const OpResult&> &&
                      std::is_nothrow_constructible_v<std::remove_cvref_t<F>, F&&>;

/// A move-only void(const OpResult&) callable stored in place (no heap).
class OpHandler {
 public:
  OpHandler() noexcept = default;
  template <op_callable<OpHandler> F>
  // The concept excludes OpHandler itself. NOLINTNEXTLINE(bugprone-forwarding-reference-overload)
  explicit OpHandler(F&& f) noexcept {
    using Fn = std::remove_cvref_t<F>;
    static_assert(sizeof(Fn) <= kHandlerBytes,
                  "ringkit::io::Uring: completion handler too large to store in place; capture "
                  "less (e.g. a pointer to your connection object)");
    static_assert(alignof(Fn) <= alignof(std::max_align_t), "over-aligned handler");
    static_assert(std::is_nothrow_move_constructible_v<Fn>, "handler must be nothrow-movable");
    ::new (static_cast<void*>(buf_)) Fn(std::forward<F>(f));
    call_ = [](void* p, const OpResult& r) { (*static_cast<Fn*>(p))(r); };
    manage_ = [](void* dst, void* src) noexcept {
      if (dst != nullptr) ::new (dst) Fn(std::move(*static_cast<Fn*>(src)));
      static_cast<Fn*>(src)->~Fn();
    };
  }
  OpHandler(OpHandler&& o) noexcept { take(o); }
  OpHandler& operator=(OpHandler&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  OpHandler(const OpHandler&) = delete;
  OpHandler& operator=(const OpHandler&) = delete;
  ~OpHandler() { reset(); }

  explicit operator bool() const noexcept { return call_ != nullptr; }
  void operator()(const OpResult& r) { call_(buf_, r); }
  void reset() noexcept {
    if (manage_ != nullptr) manage_(nullptr, buf_);
    call_ = nullptr;
    manage_ = nullptr;
  }

 private:
  void take(OpHandler& o) noexcept {
    if (o.manage_ != nullptr) o.manage_(buf_, o.buf_);
    call_ = std::exchange(o.call_, nullptr);
    manage_ = std::exchange(o.manage_, nullptr);
  }
  alignas(std::max_align_t) unsigned char buf_[kHandlerBytes]{};
  void (*call_)(void*, const OpResult&) = nullptr;
  void (*manage_)(void*, void*) noexcept = nullptr;
};

/// Commits (writer) or consumes (reader) `n` bytes on the half behind `half`.
using AdvanceFn = Errc (*)(void* half, std::size_t n) noexcept;

template <class W>
Errc commit_thunk(void* half, std::size_t n) noexcept {
  return static_cast<W*>(half)->commit(n);
}
template <class R>
Errc consume_thunk(void* half, std::size_t n) noexcept {
  return static_cast<R*>(half)->consume(n);
}

enum class OpKind : std::uint8_t {
  readv,
  writev,
  sendmsg,
  recv,
  accept,
  connect,
  close,
  poll,
  timeout,
  cancel,
  gather,
  recv_multishot,
  accept_once
};

}  // namespace detail

class Uring {
 public:
  Uring() noexcept;
  Uring(Uring&&) noexcept;
  Uring& operator=(Uring&&) noexcept;
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;
  /// Closes the ring; operations still in flight are abandoned (their handlers never run).
  ~Uring();

  /// Sets up an io_uring. Errors keep their errno; context() names the failing call.
  [[nodiscard]] static Result<Uring> create(const UringOptions& options = {});

  /// Which optional setup flags the kernel accepted.
  [[nodiscard]] bool has_single_issuer() const noexcept;
  [[nodiscard]] bool has_coop_taskrun() const noexcept;
  [[nodiscard]] bool has_defer_taskrun() const noexcept;
  [[nodiscard]] bool has_sqpoll() const noexcept;
  /// Whether recv_multishot() can be used: UringOptions::recv_buffers was set and the kernel
  /// accepted the buffer ring.
  [[nodiscard]] bool has_recv_multishot() const noexcept;
  /// Whether UringOptions::min_wait is in effect (set, and the kernel has min-wait waits).
  [[nodiscard]] bool has_min_wait() const noexcept;

  /// Reads from `fd` into the writer's free space (readv; one iovec when mirrored) and commits
  /// exactly the bytes read before calling `f`. Returns ok, or ring_full (no free space), busy
  /// (a read on this writer is in flight) or a submission error; then `f` is not called.
  template <byte_writer W, op_handler F>
  Submit readv(int fd, W& writer, F&& f) {
    iovec iov[2];
    const std::size_t n = writer.writable_segments().to_iovecs(std::span<iovec, 2>(iov));
    if (n == 0) return {Errc::ring_full, {}};
    return submit_vectored(detail::OpKind::readv, fd, iov, n, &writer, &detail::commit_thunk<W>,
                           detail::OpHandler(std::forward<F>(f)));
  }
  /// Writes the reader's data to `fd` (writev) and consumes what was written before calling
  /// `f`. Returns ok, or ring_empty (no data), busy (a write on this reader is in flight) or a
  /// submission error; then `f` is not called.
  template <byte_reader R, op_handler F>
  Submit writev(int fd, R& reader, F&& f) {
    iovec iov[2];
    const std::size_t n = reader.readable_segments().to_iovecs(std::span<iovec, 2>(iov));
    if (n == 0) return {Errc::ring_empty, {}};
    return submit_vectored(detail::OpKind::writev, fd, iov, n, &reader, &detail::consume_thunk<R>,
                           detail::OpHandler(std::forward<F>(f)));
  }
  /// Socket read (IORING_OP_RECV) into one span: the whole free space of a mirrored ring (the
  /// part up to the wrap otherwise). Same contract as readv(); cheaper than readv on sockets
  /// (no iovec import). With UringOptions::recv_poll_first the kernel waits for readiness
  /// before trying (IORING_RECVSEND_POLL_FIRST): right for request/response traffic, where a
  /// re-armed read almost never finds data already there. Returns as readv() does.
  template <byte_writer W, op_handler F>
  Submit recv(int fd, W& writer, F&& f) {
    iovec iov[2];
    const std::size_t n = writer.writable_segments().to_iovecs(std::span<iovec, 2>(iov));
    if (n == 0) return {Errc::ring_full, {}};
    return submit_vectored(detail::OpKind::recv, fd, iov, 1, &writer, &detail::commit_thunk<W>,
                           detail::OpHandler(std::forward<F>(f)));
  }
  /// Socket write of all the reader's data with MSG_NOSIGNAL (IORING_OP_SEND for one segment,
  /// SENDMSG for two): a peer that is gone gives EPIPE, never SIGPIPE. Returns as writev()
  /// does; use it for sockets.
  template <byte_reader R, op_handler F>
  Submit send(int fd, R& reader, F&& f) {
    iovec iov[2];
    const std::size_t n = reader.readable_segments().to_iovecs(std::span<iovec, 2>(iov));
    if (n == 0) return {Errc::ring_empty, {}};
    return submit_vectored(detail::OpKind::sendmsg, fd, iov, n, &reader, &detail::consume_thunk<R>,
                           detail::OpHandler(std::forward<F>(f)));
  }

  /// Gathered socket write of the caller's buffers (IORING_OP_SENDMSG, MSG_NOSIGNAL), for
  /// output that is not one ring's readable bytes (e.g. a header in a ring followed by a
  /// payload held elsewhere). The iovec array and the memory it points to must stay valid and
  /// unchanged until `f` runs; nothing is consumed: OpResult::bytes says how much was sent (may
  /// be short), and the caller advances its own cursors. Returns ok, invalid_argument (negative
  /// fd, no iovec, more than IOV_MAX) or a submission error (pool_exhausted, queue_full).
  template <op_handler F>
  Submit send_gather(int fd, std::span<const iovec> iov, F&& f) {
    return submit_gather(fd, iov, detail::OpHandler(std::forward<F>(f)));
  }
  /// Multishot socket receive into the engine's provided buffers (UringOptions::recv_buffers):
  /// stays armed across receives, so a stream costs one completion per arrival and no
  /// re-submission. `f` runs once per receive with OpResult::data (valid only until `f`
  /// returns; copy it out) and OpResult::more; a completion with more == false ends the
  /// multishot: eof at the end of the stream, cancelled after cancel(), error ENOBUFS when every
  /// provided buffer was in use (re-arm it: the buffers are back once the handlers ran), or
  /// another error. Returns ok, invalid_argument (negative fd, or has_recv_multishot() false) or
  /// a submission error (pool_exhausted, queue_full).
  template <op_handler F>
  Submit recv_multishot(int fd, F&& f) {
    return submit_simple(detail::OpKind::recv_multishot, fd, detail::OpHandler(std::forward<F>(f)),
                         nullptr, 0, 0);
  }
  /// Multishot accept on a listening socket: `f` runs once per connection with OpResult::fd
  /// (the caller owns it); OpResult::more == false means the multishot ended (re-arm it). The
  /// kernel reads the descriptor limit (RLIMIT_NOFILE) when the accept is armed: a later
  /// setrlimit() applies to the next accept armed, not to this one.
  /// Returns ok, invalid_argument (negative fd) or a submission error (pool_exhausted,
  /// queue_full).
  template <op_handler F>
  Submit accept(int listen_fd, F&& f) {
    return submit_simple(detail::OpKind::accept, listen_fd, detail::OpHandler(std::forward<F>(f)),
                         nullptr, 0, 0);
  }
  /// One accept: `f` runs once, with OpResult::fd (the caller owns it) or the error, and
  /// OpResult::more false. Unlike the multishot accept(), which takes every queued connection
  /// (a descriptor each) before its handler runs, this holds at most one new descriptor at a
  /// time: the form to use near a descriptor limit. Returns as accept().
  template <op_handler F>
  Submit accept_once(int listen_fd, F&& f) {
    return submit_simple(detail::OpKind::accept_once, listen_fd,
                         detail::OpHandler(std::forward<F>(f)), nullptr, 0, 0);
  }
  /// Connects `fd` to `addr` (copied into the op state); the handler sees ok or the connect
  /// error. Returns ok, invalid_argument (negative fd, null or oversized address) or a
  /// submission error (pool_exhausted, queue_full).
  template <op_handler F>
  Submit connect(int fd, const sockaddr* addr, socklen_t len, F&& f) {
    return submit_simple(detail::OpKind::connect, fd, detail::OpHandler(std::forward<F>(f)), addr,
                         len, 0);
  }
  /// Closes `fd` asynchronously. Returns ok, invalid_argument (negative fd) or a submission
  /// error (pool_exhausted, queue_full); on error `fd` is still open.
  template <op_handler F>
  Submit close(int fd, F&& f) {
    return submit_simple(detail::OpKind::close, fd, detail::OpHandler(std::forward<F>(f)), nullptr,
                         0, 0);
  }
  /// Completes when `fd` has one of `events` (POLLIN, POLLOUT, ...; OpResult::events says which,
  /// with POLLERR/POLLHUP) or when cancelled. Returns ok, invalid_argument (negative fd) or a
  /// submission error (pool_exhausted, queue_full).
  template <op_handler F>
  Submit poll(int fd, std::uint32_t events, F&& f) {
    return submit_simple(detail::OpKind::poll, fd, detail::OpHandler(std::forward<F>(f)), nullptr,
                         0, events);
  }
  /// Completes after `after` (status ok) or when cancelled (status cancelled). Returns ok or a
  /// submission error (pool_exhausted, queue_full).
  template <op_handler F>
  Submit timeout(std::chrono::nanoseconds after, F&& f) {
    return submit_simple(detail::OpKind::timeout, -1, detail::OpHandler(std::forward<F>(f)),
                         nullptr, 0, after.count() < 0 ? 0 : after.count());
  }
  /// Registers fixed buffers (io_uring_register_buffers), e.g. {fixed_buffer(writer),
  /// fixed_buffer(reader)} of the mirrored rings this engine serves; replaces an earlier set.
  /// Single-iovec reads and writes inside one of them then use READ_FIXED/WRITE_FIXED. Errors
  /// keep the kernel's errno (context names the call): the caller falls back to plain I/O.
  [[nodiscard]] Result<void> register_buffers(std::span<const iovec> buffers);
  /// Drops the registered buffers (no-op when none).
  void unregister_buffers() noexcept;
  /// Number of operations submitted as READ_FIXED/WRITE_FIXED so far.
  [[nodiscard]] std::uint64_t fixed_ops() const noexcept;

  /// Requests cancellation of `id`; its handler later runs with IoStatus::cancelled (or its
  /// normal result if it completed first). Returns ok, invalid_argument (`id` is not in flight)
  /// or queue_full (no submission queue entry: the op keeps running).
  Errc cancel(OpId id) noexcept;

  /// Submits everything queued, waits up to `timeout` for at least one completion, then runs
  /// the handlers of all available completions. Returns how many handlers ran, or an error.
  [[nodiscard]] Result<std::size_t> run_once(std::chrono::nanoseconds timeout);
  /// Runs until stop() is called or no operation is in flight.
  [[nodiscard]] Result<void> run();
  /// Makes run() return after the current batch (call from a handler or the loop thread).
  void stop() noexcept;
  /// Operations in flight (submitted or queued, handler not yet run).
  [[nodiscard]] std::size_t in_flight() const noexcept;

 private:
  struct Impl;
  Submit submit_vectored(detail::OpKind kind, int fd, const iovec* iov, std::size_t iovcnt,
                         void* half, detail::AdvanceFn advance, detail::OpHandler&& handler);
  Submit submit_simple(detail::OpKind kind, int fd, detail::OpHandler&& handler,
                       const sockaddr* addr, socklen_t len, std::int64_t ns);
  Submit submit_gather(int fd, std::span<const iovec> iov, detail::OpHandler&& handler);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkit::io
