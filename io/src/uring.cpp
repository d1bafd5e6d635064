// The io_uring engine: setup with fallbacks, the op slab, the busy-half table, submission and
// completion processing.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <limits>
#include <vector>

#include <liburing.h>

#include <ringkit/detail/mapping.hpp>
#include <ringkit/io/uring.hpp>
#include <ringkit/mirror.hpp>

#if defined(__SANITIZE_ADDRESS__)
#define RINGKIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RINGKIT_ASAN 1
#endif
#endif
#ifdef RINGKIT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace ringkit::io {
namespace {

struct OpState {
  detail::OpHandler handler;
  detail::OpKind kind = detail::OpKind::readv;
  bool live = false;
  std::uint32_t gen = 1;
  std::uint32_t next_free = 0;
  unsigned iovcnt = 0;
  iovec iov[2]{};
  void* half = nullptr;
  detail::AdvanceFn advance = nullptr;
  sockaddr_storage addr{};
  socklen_t addrlen = 0;
  __kernel_timespec ts{};
  msghdr msg{};
};

constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

/// Open-addressing set of the halves with an operation in flight (linear probing with
/// backward-shift deletion). It doubles when half full, like the op slab it shadows: a rare
/// allocation when the number of ops in flight reaches a new high, none in steady state.
class BusySet {
 public:
  BusySet() { slots_.assign(64, nullptr); }
  /// Makes room for `items` members without a later allocation.
  void reserve(std::size_t items) {
    std::size_t cap = slots_.size();
    while (cap < 2 * items) cap <<= 1;
    if (cap != slots_.size()) rehash(cap);
  }
  /// False if `p` is already present. Throws std::bad_alloc only when growing.
  bool insert(void* p) {
    if (2 * (count_ + 1) > slots_.size()) rehash(2 * slots_.size());
    std::size_t i = hash(p);
    while (slots_[i] != nullptr) {
      if (slots_[i] == p) return false;
      i = (i + 1) & mask();
    }
    slots_[i] = p;
    ++count_;
    return true;
  }
  void erase(void* p) noexcept {
    std::size_t i = hash(p);
    while (slots_[i] != p) {
      if (slots_[i] == nullptr) return;
      i = (i + 1) & mask();
    }
    --count_;
    // Backward-shift the following cluster so lookups never stop at a hole.
    std::size_t hole = i;
    std::size_t j = (i + 1) & mask();
    while (slots_[j] != nullptr) {
      const std::size_t home = hash(slots_[j]);
      const bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
      j = (j + 1) & mask();
    }
    slots_[hole] = nullptr;
  }

 private:
  [[nodiscard]] std::size_t mask() const noexcept { return slots_.size() - 1; }
  [[nodiscard]] std::size_t hash(void* p) const noexcept {
    auto v = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return static_cast<std::size_t>(v) & mask();
  }
  void rehash(std::size_t cap) {
    std::vector<void*> old(cap, nullptr);
    old.swap(slots_);
    for (void* p : old) {
      if (p == nullptr) continue;
      std::size_t i = hash(p);
      while (slots_[i] != nullptr) i = (i + 1) & mask();
      slots_[i] = p;
    }
  }
  std::vector<void*> slots_;
  std::size_t count_ = 0;
};

/// Op slots are allocated in chunks of this many (stable addresses: the kernel points into
/// them), up to UringOptions::max_ops.
constexpr std::uint32_t kChunkOps = 256;

/// The buffer group id of the engine's provided receive buffers.
constexpr int kRecvGroup = 0;

}  // namespace

struct Uring::Impl {
  io_uring ring{};
  bool ring_ok = false;
  bool single_issuer = false;
  bool coop_taskrun = false;
  bool defer_taskrun = false;
  bool sqpoll = false;
  bool recv_poll_first = false;
  unsigned min_wait_us = 0;  // 0: plain waits (option off or the kernel lacks min-wait)
  unsigned wait_batch = 1;
  std::vector<std::unique_ptr<OpState[]>> chunks;  // NOLINT(*-avoid-c-arrays): fixed chunks
  std::size_t slots = 0;                           // kChunkOps x chunks.size()
  std::size_t max_ops = 0;
  std::uint32_t free_head = kNoSlot;
  BusySet busy;
  std::size_t inflight = 0;
  bool stop = false;
  bool use_fixed = true;
  std::vector<iovec> fixed;  // registered buffers, by index
  std::uint64_t fixed_ops = 0;
  // Provided receive buffers (recv_multishot): the kernel's buffer ring and the buffers.
  ringkit::detail::Mapping br_map;   // the ring of io_uring_buf entries
  ringkit::detail::Mapping buf_map;  // recv_buffers x recv_buffer_size bytes
  io_uring_buf_ring* br = nullptr;   // registered (unregistered by ~Impl)
  unsigned br_entries = 0;
  std::size_t buf_size = 0;

  explicit Impl(std::size_t max) : max_ops(max) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;
  ~Impl() {
    if (br != nullptr) (void)io_uring_unregister_buf_ring(&ring, kRecvGroup);
    if (ring_ok) io_uring_queue_exit(&ring);
  }

  /// Sets up the provided receive buffers; false (nothing held) if the kernel or memory refuses.
  bool setup_recv_buffers(unsigned entries, std::size_t size) noexcept {
    const std::size_t page = MirrorRegion::page_size();
    auto pages = [page](std::size_t n) { return (n + page - 1) / page * page; };
    auto rmap = ringkit::detail::Mapping::create(pages(entries * sizeof(io_uring_buf)));
    auto bmap = ringkit::detail::Mapping::create(pages(entries * size));
    if (!rmap || !bmap) return false;
    auto* r = reinterpret_cast<io_uring_buf_ring*>(rmap->data());
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(r);
    reg.ring_entries = entries;
    reg.bgid = kRecvGroup;
    if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) return false;
    io_uring_buf_ring_init(r);
    const int mask = io_uring_buf_ring_mask(entries);
    for (unsigned i = 0; i < entries; ++i) {
      io_uring_buf_ring_add(r, bmap->data() + i * size, static_cast<unsigned>(size),
                            static_cast<unsigned short>(i), mask, static_cast<int>(i));
    }
    io_uring_buf_ring_advance(r, static_cast<int>(entries));
    br_map = std::move(*rmap);
    buf_map = std::move(*bmap);
    br = r;
    br_entries = entries;
    buf_size = size;
    return true;
  }
  /// Gives provided buffer `bid` back to the kernel.
  void recycle(unsigned bid) noexcept {
    io_uring_buf_ring_add(br, buf_map.data() + bid * buf_size, static_cast<unsigned>(buf_size),
                          static_cast<unsigned short>(bid), io_uring_buf_ring_mask(br_entries), 0);
    io_uring_buf_ring_advance(br, 1);
  }

  [[nodiscard]] OpState& op_at(std::uint32_t i) noexcept {
    return chunks[i / kChunkOps][i % kChunkOps];
  }
  /// The op of `user_data`, or nullptr if it is not in flight (stale generation or index).
  [[nodiscard]] OpState* live_op(std::uint64_t ud) noexcept {
    const auto idx = static_cast<std::uint32_t>((ud & 0xffffffffULL) - 1);
    const auto gen = static_cast<std::uint32_t>(ud >> 32);
    if (idx >= slots) return nullptr;
    OpState& op = op_at(idx);
    return op.live && op.gen == gen ? &op : nullptr;
  }
  /// Adds one chunk of free slots; false at max_ops or without memory.
  [[nodiscard]] bool grow() noexcept {
    if (slots >= max_ops) return false;
    try {
      chunks.push_back(std::make_unique<OpState[]>(kChunkOps));  // NOLINT(*-avoid-c-arrays)
      busy.reserve(slots + kChunkOps);
    } catch (const std::bad_alloc&) {
      return false;
    }
    const auto base = static_cast<std::uint32_t>(slots);
    for (std::uint32_t k = 0; k < kChunkOps; ++k) {
      chunks.back()[k].next_free = k + 1 < kChunkOps ? base + k + 1 : free_head;
    }
    free_head = base;
    slots += kChunkOps;
    return true;
  }
  [[nodiscard]] std::uint32_t alloc() noexcept {
    if (inflight >= max_ops || (free_head == kNoSlot && !grow())) return kNoSlot;
    const std::uint32_t i = free_head;
    OpState& op = op_at(i);
    free_head = op.next_free;
    op.live = true;
    ++inflight;
    return i;
  }
  /// An op slot and a submission queue entry for one operation (errc says which ran out).
  struct Claim {
    Errc errc = Errc::ok;
    std::uint32_t index = 0;
    OpState* op = nullptr;
    io_uring_sqe* sqe = nullptr;
  };
  /// Takes both for an operation of `kind` completed by `handler`; nothing is held on failure.
  Claim claim(detail::OpKind kind, detail::OpHandler&& handler) noexcept {
    const std::uint32_t i = alloc();
    if (i == kNoSlot) return {Errc::pool_exhausted};
    io_uring_sqe* s = sqe();
    if (s == nullptr) {
      release(i);
      return {Errc::queue_full};
    }
    OpState& op = op_at(i);
    op.kind = kind;
    op.handler = std::move(handler);
    return {Errc::ok, i, &op, s};
  }
  void release(std::uint32_t i) noexcept {
    OpState& op = op_at(i);
    op.live = false;
    ++op.gen;
    if (op.gen == 0) op.gen = 1;
    op.half = nullptr;
    op.advance = nullptr;
    op.next_free = free_head;
    free_head = i;
    --inflight;
  }
  [[nodiscard]] static std::uint64_t user_data(std::uint32_t i, std::uint32_t gen) noexcept {
    return (static_cast<std::uint64_t>(gen) << 32) | (static_cast<std::uint64_t>(i) + 1);
  }
  /// An SQE, submitting the queue first if it is full; nullptr if the kernel refuses.
  [[nodiscard]] io_uring_sqe* sqe() noexcept {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      (void)io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    return s;
  }
  void complete(const io_uring_cqe& cqe);

  /// Submits the queued SQEs and waits for wait_batch completions, or for min_wait once one is
  /// there, or for `ts` (one io_uring_enter; IORING_FEAT_MIN_TIMEOUT). liburing 2.3 has no
  /// wrapper for the min-wait field, so the SQ tail is published here as liburing's submit does.
  int submit_and_wait_min(__kernel_timespec& ts) noexcept {
    io_uring_sq& sq = ring.sq;
    const unsigned tail = sq.sqe_tail;
    if (sq.sqe_head != tail) {
      sq.sqe_head = tail;
      io_uring_smp_store_release(sq.ktail, tail);
    }
    const unsigned to_submit = tail - io_uring_smp_load_acquire(sq.khead);
    io_uring_getevents_arg arg{};
    arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
    arg.pad = min_wait_us;  // min_wait_usec since Linux 6.12 (named `pad` in liburing 2.3)
    const unsigned want = io_uring_cq_ready(&ring) > 0 ? 0 : wait_batch;
    int rc;
    do {
      rc = io_uring_enter2(static_cast<unsigned>(ring.ring_fd), to_submit, want,
                           IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                           reinterpret_cast<sigset_t*>(&arg), sizeof arg);
    } while (rc == -EINTR);
    return rc;
  }

  /// Index of the registered buffer holding [p, p + n), or -1.
  [[nodiscard]] int fixed_index(const void* p, std::size_t n) const noexcept {
    const auto* b = static_cast<const std::byte*>(p);
    for (std::size_t i = 0; i < fixed.size(); ++i) {
      const auto* base = static_cast<const std::byte*>(fixed[i].iov_base);
      if (b >= base && b + n <= base + fixed[i].iov_len) return static_cast<int>(i);
    }
    return -1;
  }
};

namespace {

/// False when an iovec points at memory ASan knows is not live (the kernel's accesses are
/// invisible to ASan, so such a submission is refused); always true without ASan.
[[nodiscard]] bool iovecs_live([[maybe_unused]] const iovec* iov,
                               [[maybe_unused]] std::size_t n) noexcept {
#ifdef RINGKIT_ASAN
  for (std::size_t i = 0; i < n; ++i) {
    if (__asan_region_is_poisoned(iov[i].iov_base, iov[i].iov_len) != nullptr) return false;
  }
#endif
  return true;
}

IoStatus status_of(int res, int* err) noexcept {
  if (res == -ECANCELED) return IoStatus::cancelled;
  if (res == -EAGAIN) return IoStatus::would_block;
  *err = -res;
  return IoStatus::error;
}

}  // namespace

void Uring::Impl::complete(const io_uring_cqe& cqe) {
  // A provided buffer (recv_multishot) goes back to the kernel after the handler, whatever the
  // completion was.
  int bid = -1;
  if ((cqe.flags & IORING_CQE_F_BUFFER) != 0 && br != nullptr) {
    const auto b = static_cast<unsigned>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (b < br_entries) bid = static_cast<int>(b);
  }
  const std::uint64_t ud = io_uring_cqe_get_data64(&cqe);
  OpState* live = ud == 0 ? nullptr : live_op(ud);  // 0: internal (cancel requests)
  if (live == nullptr) {                            // stale or internal
    if (bid >= 0) recycle(static_cast<unsigned>(bid));
    return;
  }
  OpState& op = *live;
  const auto idx = static_cast<std::uint32_t>((ud & 0xffffffffULL) - 1);
  OpResult r;
  bool finished = true;
  switch (op.kind) {
    case detail::OpKind::readv:
    case detail::OpKind::writev:
    case detail::OpKind::sendmsg:
    case detail::OpKind::recv:
      busy.erase(op.half);
      if (cqe.res > 0) {
        const auto n = static_cast<std::size_t>(cqe.res);
        if (op.advance(op.half, n) == Errc::ok) {
          r.bytes = n;
        } else {  // the kernel reported more than was offered: never commit garbage
          r.status = IoStatus::error;
          r.err = EIO;
        }
      } else if (cqe.res == 0) {
        const bool read = op.kind == detail::OpKind::readv || op.kind == detail::OpKind::recv;
        r.status = read ? IoStatus::eof : IoStatus::would_block;
      } else {
        r.status = status_of(cqe.res, &r.err);
      }
      break;
    case detail::OpKind::accept:
    case detail::OpKind::accept_once:
      r.more = (cqe.flags & IORING_CQE_F_MORE) != 0;
      finished = !r.more;
      if (cqe.res >= 0) {
        r.fd = cqe.res;
      } else {
        r.status = status_of(cqe.res, &r.err);
      }
      break;
    case detail::OpKind::timeout:
      if (cqe.res != 0 && cqe.res != -ETIME) r.status = status_of(cqe.res, &r.err);
      break;
    case detail::OpKind::poll:
      if (cqe.res < 0) {
        r.status = status_of(cqe.res, &r.err);
      } else {
        r.events = static_cast<std::uint32_t>(cqe.res);
      }
      break;
    case detail::OpKind::gather:
      if (cqe.res > 0) {
        r.bytes = static_cast<std::size_t>(cqe.res);
      } else if (cqe.res == 0) {
        r.status = IoStatus::would_block;
      } else {
        r.status = status_of(cqe.res, &r.err);
      }
      break;
    case detail::OpKind::connect:
    case detail::OpKind::close:
    case detail::OpKind::cancel:
      if (cqe.res < 0) r.status = status_of(cqe.res, &r.err);
      break;
    case detail::OpKind::recv_multishot:
      r.more = (cqe.flags & IORING_CQE_F_MORE) != 0;
      finished = !r.more;
      if (cqe.res > 0 && bid >= 0 && static_cast<std::size_t>(cqe.res) <= buf_size) {
        r.bytes = static_cast<std::size_t>(cqe.res);
        r.data = {buf_map.data() + static_cast<std::size_t>(bid) * buf_size, r.bytes};
      } else if (cqe.res > 0) {  // no buffer, or more than one holds: never hand out garbage
        r.status = IoStatus::error;
        r.err = EIO;
      } else if (cqe.res == 0) {
        r.status = IoStatus::eof;
      } else {
        r.status = status_of(cqe.res, &r.err);
        if (r.status == IoStatus::would_block) {  // not expected of a multishot: report it
          r.status = IoStatus::error;
          r.err = EAGAIN;
        }
      }
      break;
  }
  if (!finished) {
    op.handler(r);
  } else {
    // Free the slot before running the handler, so the handler can submit on the same half.
    detail::OpHandler h = std::move(op.handler);
    release(idx);
    if (h) h(r);
  }
  if (bid >= 0) recycle(static_cast<unsigned>(bid));
}

Uring::Uring() noexcept = default;
Uring::Uring(Uring&&) noexcept = default;
Uring& Uring::operator=(Uring&&) noexcept = default;
Uring::~Uring() = default;

Result<Uring> Uring::create(const UringOptions& options) {
  if (options.entries == 0 || options.entries > 32768) {
    return unexpected(Errc::invalid_argument, "Uring::create: entries");
  }
  if (options.recv_buffers > 32768 || (options.recv_buffers & (options.recv_buffers - 1)) != 0) {
    return unexpected(Errc::invalid_argument, "Uring::create: recv_buffers");
  }
  if (options.recv_buffers != 0 &&
      (options.recv_buffer_size < 256 || options.recv_buffer_size > (std::size_t{1} << 20))) {
    return unexpected(Errc::invalid_argument, "Uring::create: recv_buffer_size");
  }
  const std::size_t max_ops =
      options.max_ops != 0 ? options.max_ops : std::size_t{2} * options.entries;
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(max_ops);
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "Uring::create");
  }
  unsigned optional = 0;
  if (options.single_issuer) optional |= IORING_SETUP_SINGLE_ISSUER;
  if (options.single_issuer && options.defer_taskrun) optional |= IORING_SETUP_DEFER_TASKRUN;
  if (options.coop_taskrun) optional |= IORING_SETUP_COOP_TASKRUN;
  io_uring_params p{};
  int rc = 0;
  // Try with the optional flags, then drop them one by one (older kernels say EINVAL).
  for (int attempt = 0; attempt < 4; ++attempt) {
    p = io_uring_params{};
    p.flags = optional;
    if (options.sqpoll) {
      p.flags |= IORING_SETUP_SQPOLL;
      p.sq_thread_idle = options.sqpoll_idle_ms;
    }
    // Room for many completions per submission (multishot accept, batches).
    p.flags |= IORING_SETUP_CQSIZE;
    // (The kernel's CQ is at most 65536 entries; beyond that overflowed completions wait in the
    // kernel's backlog, IORING_FEAT_NODROP, and are never lost.)
    p.cq_entries = static_cast<unsigned>(
        std::min<std::size_t>(2 * max_ops + options.entries, std::size_t{65536}));
    rc = io_uring_queue_init_params(options.entries, &impl->ring, &p);
    if (rc != -EINVAL || optional == 0) break;
    if ((optional & IORING_SETUP_DEFER_TASKRUN) != 0) {
      optional &= ~IORING_SETUP_DEFER_TASKRUN;
    } else if ((optional & IORING_SETUP_SINGLE_ISSUER) != 0) {
      optional &= ~IORING_SETUP_SINGLE_ISSUER;
    } else {
      optional &= ~IORING_SETUP_COOP_TASKRUN;
    }
  }
  if (rc < 0) {
    return unexpected_errno(-rc, rc == -EPERM ? "io_uring_queue_init_params (is io_uring "
                                                "disabled in /proc/sys/kernel/io_uring_disabled?)"
                                              : "io_uring_queue_init_params");
  }
  impl->ring_ok = true;
  impl->single_issuer = (p.flags & IORING_SETUP_SINGLE_ISSUER) != 0;
  impl->coop_taskrun = (p.flags & IORING_SETUP_COOP_TASKRUN) != 0;
  impl->defer_taskrun = (p.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  impl->recv_poll_first = options.recv_poll_first;
  constexpr unsigned kFeatMinTimeout = 1U << 15;  // IORING_FEAT_MIN_TIMEOUT (Linux 6.12)
  if (options.min_wait.count() > 0 && (p.features & kFeatMinTimeout) != 0 &&
      (p.features & IORING_FEAT_EXT_ARG) != 0) {
    impl->min_wait_us = static_cast<unsigned>(
        std::min<std::int64_t>(options.min_wait.count(), std::int64_t{1'000'000}));
    impl->wait_batch = std::max(1U, options.wait_batch);
  }
  impl->sqpoll = (p.flags & IORING_SETUP_SQPOLL) != 0;
  impl->use_fixed = options.use_fixed_buffers;
  if (options.recv_buffers != 0) {
    (void)impl->setup_recv_buffers(options.recv_buffers, options.recv_buffer_size);
  }
  Uring u;
  u.impl_ = std::move(impl);
  return u;
}

bool Uring::has_single_issuer() const noexcept { return impl_ && impl_->single_issuer; }
bool Uring::has_coop_taskrun() const noexcept { return impl_ && impl_->coop_taskrun; }
bool Uring::has_defer_taskrun() const noexcept { return impl_ && impl_->defer_taskrun; }
bool Uring::has_sqpoll() const noexcept { return impl_ && impl_->sqpoll; }
bool Uring::has_recv_multishot() const noexcept { return impl_ && impl_->br != nullptr; }
bool Uring::has_min_wait() const noexcept { return impl_ && impl_->min_wait_us != 0; }
std::size_t Uring::in_flight() const noexcept { return impl_ ? impl_->inflight : 0; }
void Uring::stop() noexcept {
  if (impl_) impl_->stop = true;
}

Submit Uring::submit_vectored(detail::OpKind kind, int fd, const iovec* iov, std::size_t iovcnt,
                              void* half, detail::AdvanceFn advance, detail::OpHandler&& handler) {
  if (!impl_ || fd < 0 || !iovecs_live(iov, iovcnt)) return {Errc::invalid_argument, {}};
  Impl& im = *impl_;
  const std::uint32_t i = im.alloc();  // first: it reserves the busy set's room for this op
  if (i == kNoSlot) return {Errc::pool_exhausted, {}};
  if (!im.busy.insert(half)) {
    im.release(i);
    return {Errc::busy, {}};
  }
  io_uring_sqe* s = im.sqe();
  if (s == nullptr) {
    im.busy.erase(half);
    im.release(i);
    return {Errc::queue_full, {}};
  }
  OpState& op = im.op_at(i);
  op.kind = kind;
  op.handler = std::move(handler);
  op.iovcnt = static_cast<unsigned>(iovcnt);
  for (std::size_t k = 0; k < iovcnt; ++k) op.iov[k] = iov[k];
  op.half = half;
  op.advance = advance;
  const int fixed = im.use_fixed && iovcnt == 1 && kind != detail::OpKind::sendmsg
                        ? im.fixed_index(iov[0].iov_base, iov[0].iov_len)
                        : -1;
  bool positional = true;  // readv/writev/read_fixed/write_fixed take an offset
  if (fixed >= 0) {
    ++im.fixed_ops;
    if (kind == detail::OpKind::readv || kind == detail::OpKind::recv) {
      io_uring_prep_read_fixed(s, fd, op.iov[0].iov_base, static_cast<unsigned>(op.iov[0].iov_len),
                               0, fixed);
    } else {
      io_uring_prep_write_fixed(s, fd, op.iov[0].iov_base, static_cast<unsigned>(op.iov[0].iov_len),
                                0, fixed);
    }
  } else if (kind == detail::OpKind::readv) {
    io_uring_prep_readv(s, fd, op.iov, op.iovcnt, 0);
  } else if (kind == detail::OpKind::recv) {
    positional = false;
    io_uring_prep_recv(s, fd, op.iov[0].iov_base, op.iov[0].iov_len, 0);
    if (im.recv_poll_first) s->ioprio |= IORING_RECVSEND_POLL_FIRST;
  } else if (kind == detail::OpKind::sendmsg && op.iovcnt == 1) {
    positional = false;
    io_uring_prep_send(s, fd, op.iov[0].iov_base, op.iov[0].iov_len, MSG_NOSIGNAL);
  } else if (kind == detail::OpKind::sendmsg) {
    positional = false;
    op.msg = msghdr{};
    op.msg.msg_iov = op.iov;
    op.msg.msg_iovlen = op.iovcnt;
    io_uring_prep_sendmsg(s, fd, &op.msg, MSG_NOSIGNAL);
  } else {
    // writev works on every fd; on a socket whose peer is gone it raises SIGPIPE unless the
    // process ignores it: send() is the socket variant.
    io_uring_prep_writev(s, fd, op.iov, op.iovcnt, 0);
  }
  // Offset -1 ("current position") for files; sockets and pipes ignore it. (Not for
  // send/sendmsg/recv, whose sqe->off is addr2: a non-zero value is rejected or misread.)
  if (positional) s->off = static_cast<__u64>(-1);
  const std::uint64_t ud = Impl::user_data(i, op.gen);
  io_uring_sqe_set_data64(s, ud);
  return {Errc::ok, OpId{ud}};
}

Submit Uring::submit_simple(detail::OpKind kind, int fd, detail::OpHandler&& handler,
                            const sockaddr* addr, socklen_t len, std::int64_t ns) {
  if (!impl_) return {Errc::invalid_argument, {}};
  if (kind != detail::OpKind::timeout && fd < 0) return {Errc::invalid_argument, {}};
  if (kind == detail::OpKind::recv_multishot && impl_->br == nullptr) {
    return {Errc::invalid_argument, {}};
  }
  if (kind == detail::OpKind::connect &&
      (addr == nullptr || len == 0 || len > static_cast<socklen_t>(sizeof(sockaddr_storage)))) {
    return {Errc::invalid_argument, {}};
  }
  Impl& im = *impl_;
  const Impl::Claim c = im.claim(kind, std::move(handler));
  if (c.errc != Errc::ok) return {c.errc, {}};
  io_uring_sqe* s = c.sqe;
  OpState& op = *c.op;
  switch (kind) {
    case detail::OpKind::accept:
      io_uring_prep_multishot_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC);
      break;
    case detail::OpKind::accept_once:
      io_uring_prep_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC);
      break;
    case detail::OpKind::connect:
      std::memcpy(&op.addr, addr, len);
      op.addrlen = len;
      io_uring_prep_connect(s, fd, reinterpret_cast<const sockaddr*>(&op.addr), op.addrlen);
      break;
    case detail::OpKind::close:
      io_uring_prep_close(s, fd);
      break;
    case detail::OpKind::poll:
      io_uring_prep_poll_add(s, fd, static_cast<unsigned>(ns));
      break;
    case detail::OpKind::recv_multishot:
      io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = kRecvGroup;
      break;
    case detail::OpKind::timeout:
      op.ts.tv_sec = ns / 1'000'000'000;
      op.ts.tv_nsec = ns % 1'000'000'000;
      io_uring_prep_timeout(s, &op.ts, 0, 0);
      break;
    default:
      io_uring_prep_nop(s);
      break;
  }
  const std::uint64_t ud = Impl::user_data(c.index, op.gen);
  io_uring_sqe_set_data64(s, ud);
  return {Errc::ok, OpId{ud}};
}

Submit Uring::submit_gather(int fd, std::span<const iovec> iov, detail::OpHandler&& handler) {
  if (!impl_ || fd < 0 || iov.empty() || iov.size() > IOV_MAX ||
      !iovecs_live(iov.data(), iov.size())) {
    return {Errc::invalid_argument, {}};
  }
  Impl& im = *impl_;
  const Impl::Claim c = im.claim(detail::OpKind::gather, std::move(handler));
  if (c.errc != Errc::ok) return {c.errc, {}};
  io_uring_sqe* s = c.sqe;
  OpState& op = *c.op;
  op.msg = msghdr{};
  // NOLINTNEXTLINE(*-const-cast): msghdr has no const iovec; the kernel only reads them.
  op.msg.msg_iov = const_cast<iovec*>(iov.data());
  op.msg.msg_iovlen = iov.size();
  io_uring_prep_sendmsg(s, fd, &op.msg, MSG_NOSIGNAL);
  const std::uint64_t ud = Impl::user_data(c.index, op.gen);
  io_uring_sqe_set_data64(s, ud);
  return {Errc::ok, OpId{ud}};
}

Result<void> Uring::register_buffers(std::span<const iovec> buffers) {
  if (!impl_) return unexpected(Errc::invalid_argument, "Uring::register_buffers");
  unregister_buffers();
  std::vector<iovec> keep;
  for (const iovec& b : buffers) {
    if (b.iov_base != nullptr && b.iov_len != 0) keep.push_back(b);
  }
  if (keep.empty()) return {};
  const int rc =
      io_uring_register_buffers(&impl_->ring, keep.data(), static_cast<unsigned>(keep.size()));
  if (rc < 0) return unexpected_errno(-rc, "io_uring_register_buffers");
  impl_->fixed = std::move(keep);
  return {};
}

void Uring::unregister_buffers() noexcept {
  if (!impl_ || impl_->fixed.empty()) return;
  (void)io_uring_unregister_buffers(&impl_->ring);
  impl_->fixed.clear();
}

std::uint64_t Uring::fixed_ops() const noexcept { return impl_ ? impl_->fixed_ops : 0; }

Errc Uring::cancel(OpId id) noexcept {
  if (!impl_ || !id.valid()) return Errc::invalid_argument;
  Impl& im = *impl_;
  if (im.live_op(id.value) == nullptr) return Errc::invalid_argument;
  io_uring_sqe* s = im.sqe();
  if (s == nullptr) return Errc::queue_full;
  io_uring_prep_cancel64(s, id.value, 0);
  io_uring_sqe_set_data64(s, 0);  // the cancel request's own completion is ignored
  return Errc::ok;
}

Result<std::size_t> Uring::run_once(std::chrono::nanoseconds timeout) {
  if (!impl_) return unexpected(Errc::invalid_argument, "Uring::run_once");
  Impl& im = *impl_;
  if (im.inflight == 0 && io_uring_sq_ready(&im.ring) == 0) return std::size_t{0};
  __kernel_timespec ts{};
  const auto ns = timeout.count() < 0 ? 0 : timeout.count();
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  io_uring_cqe* first = nullptr;
  int rc;
  if (im.min_wait_us != 0 && !im.sqpoll) {
    rc = im.submit_and_wait_min(ts);
  } else {
    do {
      rc = io_uring_submit_and_wait_timeout(&im.ring, &first, 1, &ts, nullptr);
    } while (rc == -EINTR);
  }
  if (rc < 0 && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN) {
    return unexpected_errno(-rc, "io_uring_submit_and_wait_timeout");
  }
  std::size_t ran = 0;
  io_uring_cqe* cqes[64];
  for (;;) {
    const unsigned n = io_uring_peek_batch_cqe(&im.ring, cqes, 64);
    if (n == 0) break;
    for (unsigned k = 0; k < n; ++k) {
      // Copy the CQE and advance before running the handler: handlers may submit and run.
      const io_uring_cqe cqe = *cqes[k];
      io_uring_cq_advance(&im.ring, 1);
      im.complete(cqe);
      ++ran;
    }
  }
  return ran;
}

Result<void> Uring::run() {
  if (!impl_) return unexpected(Errc::invalid_argument, "Uring::run");
  impl_->stop = false;
  while (!impl_->stop && (impl_->inflight != 0 || io_uring_sq_ready(&impl_->ring) != 0)) {
    auto r = run_once(std::chrono::seconds(1));
    if (!r) return unexpected(r.error(), r.context());
  }
  return {};
}

}  // namespace ringkit::io
