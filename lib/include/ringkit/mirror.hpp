// ringkit/mirror.hpp: MirrorRegion, memory mapped twice back to back so wrapped data is contiguous.
//
// MirrorRegion::create(bytes) makes an anonymous memfd of `bytes` (a multiple of the page size),
// reserves 2 x bytes of address space and maps the memfd into both halves, so data()[i] and
// data()[i + size()] are the same byte. A ring built on it never shows a wrap: any region of up
// to size() bytes starting anywhere in [0, size()) is one contiguous span.
//
//   address space:  data()                    data() + size()           data() + 2*size()
//                   |  view 1 (MAP_SHARED)    |  view 2 (MAP_SHARED)    |
//                   +-------------------------+-------------------------+
//                              \                        /
//                               +---- same memfd pages -+
//
// Every step (memfd_create, ftruncate, mmap reservation, both fixed mappings) is checked and undone
// on failure; the Result's context() names the failing call. The memfd is closed once mapped (the
// mappings keep the pages alive), so thousands of regions cost no descriptors; memfds have no
// shared names, so concurrent creators never collide.
//
// Thread safety: create() is thread-safe; a region is single-owner (its bytes are shared by the
// rings built on it, which define their own contracts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include <ringkit/detail/config.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

/// How a ring built on a MirrorRegion should get its memory.
enum class MirrorMode : std::uint8_t {
  automatic,  ///< mirror if possible, else fall back to a plain buffer (the ring says which)
  required,   ///< mirror or fail with the error
  never,      ///< always the plain two-segment fallback (tests; platforms without memfd)
};

/// Options of MirrorRegion::create().
struct MirrorOptions {
  bool huge_pages = false;  ///< MFD_HUGETLB: bytes must be a multiple of the huge page size
  bool populate = false;    ///< MAP_POPULATE: fault the pages in up front
};

/// Options of every ring that may be mirrored: make_mirror_byte_ring(), MirrorQueue<T>::create()
/// and the channels (make_spsc, make_mpsc).
struct RingOptions {
  MirrorMode mode = MirrorMode::automatic;
  MirrorOptions region{};  ///< huge pages, populate
  /// Starting value of the position counters. Counters are free-running and wrap at 2^64; a
  /// non-zero start resumes a stream's numbering (and lets tests exercise the wrap).
  std::uint64_t initial_position = 0;
};

class MirrorRegion {
 public:
  /// An empty region (size() == 0).
  MirrorRegion() noexcept = default;
  MirrorRegion(MirrorRegion&& o) noexcept
      : base_(std::exchange(o.base_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MirrorRegion& operator=(MirrorRegion&& o) noexcept {
    if (this != &o) {
      reset();
      base_ = std::exchange(o.base_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  MirrorRegion(const MirrorRegion&) = delete;
  MirrorRegion& operator=(const MirrorRegion&) = delete;
  ~MirrorRegion() { reset(); }

  /// Maps `bytes` twice back to back. Errors: Errc::invalid_argument (0 bytes or too large),
  /// Errc::not_page_multiple, or the errno of the failing call (context() names it; with
  /// huge_pages, ENOMEM from mmap usually means no huge pages are reserved).
  [[nodiscard]] static Result<MirrorRegion> create(std::size_t bytes,
                                                   const MirrorOptions& options = {});

  /// Start of the 2 x size() mapping; data()[i] aliases data()[i + size()].
  [[nodiscard]] std::byte* data() const noexcept RINGKIT_LIFETIMEBOUND { return base_; }
  /// Bytes of one view (the ring capacity).
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Both views as one span of 2 x size() bytes.
  [[nodiscard]] std::span<std::byte> mapping() const noexcept RINGKIT_LIFETIMEBOUND {
    return {base_, 2 * size_};
  }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Unmaps (no-op when empty).
  void reset() noexcept;

  /// The system page size (sysconf(_SC_PAGESIZE)).
  [[nodiscard]] static std::size_t page_size() noexcept;
  /// The default huge page size from /proc/meminfo, or 0 when unknown.
  [[nodiscard]] static std::size_t huge_page_size() noexcept;

 private:
  MirrorRegion(std::byte* base, std::size_t size) noexcept : base_(base), size_(size) {}
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ringkit
