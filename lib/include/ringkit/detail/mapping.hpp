// ringkit/detail/mapping.hpp: internal, not for direct inclusion. An anonymous private
// mapping owned by one object (unmapped on destruction): the slabs of the event pools and the
// io_uring engine's provided receive buffers. Pages become resident only when first touched.
//
// Thread safety: a plain owner object (thread-compatible); the memory itself is the caller's.
#pragma once

#include <cerrno>
#include <cstddef>
#include <utility>

#include <sys/mman.h>

#include <ringkit/result.hpp>

namespace ringkit::detail {

/// An anonymous private mapping; unmapped on destruction.
class Mapping {
 public:
  Mapping() noexcept = default;
  Mapping(Mapping&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      unmap();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { unmap(); }

  /// Maps `bytes` (a page multiple, > 0), or returns mmap's errno.
  [[nodiscard]] static Result<Mapping> create(std::size_t bytes) noexcept {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return unexpected_errno(errno, "mmap");
    Mapping m;
    m.p_ = static_cast<std::byte*>(p);
    m.n_ = bytes;
    return m;
  }
  [[nodiscard]] std::byte* data() const noexcept { return p_; }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

 private:
  void unmap() noexcept {
    if (p_ != nullptr) ::munmap(p_, n_);
    p_ = nullptr;
    n_ = 0;
  }
  std::byte* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace ringkit::detail
