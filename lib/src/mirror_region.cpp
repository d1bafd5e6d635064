// MirrorRegion: the memfd double-mapping dance, every step checked and undone on failure.
#include <cerrno>
#include <fstream>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include <ringkit/mirror.hpp>
#include <ringkit/unique_fd.hpp>

namespace ringkit {
namespace {

/// Unmaps a reservation unless released (undo on every error path).
class MappingGuard {
 public:
  MappingGuard(void* base, std::size_t len) noexcept : base_(base), len_(len) {}
  MappingGuard(const MappingGuard&) = delete;
  MappingGuard& operator=(const MappingGuard&) = delete;
  MappingGuard(MappingGuard&&) = delete;
  MappingGuard& operator=(MappingGuard&&) = delete;
  ~MappingGuard() {
    if (base_ != nullptr) ::munmap(base_, len_);
  }
  void* release() noexcept { return std::exchange(base_, nullptr); }

 private:
  void* base_;
  std::size_t len_;
};

}  // namespace

std::size_t MirrorRegion::page_size() noexcept {
  static const std::size_t kPage = [] {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::size_t>(p) : std::size_t{4096};
  }();
  return kPage;
}

std::size_t MirrorRegion::huge_page_size() noexcept {
  static const std::size_t kHuge = [] {
    std::size_t kib = 0;
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    while (meminfo >> key) {
      if (key == "Hugepagesize:") {
        meminfo >> kib;
        break;
      }
      meminfo.ignore(4096, '\n');
    }
    return kib * 1024;
  }();
  return kHuge;
}

Result<MirrorRegion> MirrorRegion::create(std::size_t bytes, const MirrorOptions& options) {
  if (bytes == 0 || bytes > (std::size_t{1} << 46)) {
    return unexpected(Errc::invalid_argument, "MirrorRegion::create: size");
  }
  std::size_t granule = page_size();
  if (options.huge_pages) {
    granule = huge_page_size();
    if (granule == 0) return unexpected(Errc::unsupported, "MirrorRegion::create: huge pages");
  }
  if (bytes % granule != 0) return unexpected(Errc::not_page_multiple, "MirrorRegion::create");

  unsigned int mfd_flags = MFD_CLOEXEC;
  if (options.huge_pages) mfd_flags |= MFD_HUGETLB;
  UniqueFd fd(::memfd_create("ringkit-mirror", mfd_flags));
  if (!fd) {
    return unexpected_errno(errno,
                            options.huge_pages ? "memfd_create(MFD_HUGETLB)" : "memfd_create");
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
    return unexpected_errno(errno, "ftruncate");
  }
  // Reserve 2 x bytes of address space; the two fixed mappings replace it in place.
  void* base =
      ::mmap(nullptr, 2 * bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return unexpected_errno(errno, "mmap (reserve 2 x size)");
  MappingGuard guard(base, 2 * bytes);

  int map_flags = MAP_SHARED | MAP_FIXED;
  if (options.populate) map_flags |= MAP_POPULATE;
  auto* lo = static_cast<std::byte*>(base);
  for (std::byte* view : {lo, lo + bytes}) {
    void* p = ::mmap(view, bytes, PROT_READ | PROT_WRITE, map_flags, fd.get(), 0);
    if (p == MAP_FAILED) {
      return unexpected_errno(errno, options.huge_pages
                                         ? "mmap of the memfd (MFD_HUGETLB: are huge pages "
                                           "reserved in /proc/sys/vm/nr_hugepages?)"
                                         : "mmap of the memfd (MAP_FIXED view)");
    }
    if (p != view) {  // MAP_FIXED never moves; treat anything else as a broken kernel contract
      return unexpected(Errc::unsupported, "mmap (MAP_FIXED returned another address)");
    }
  }
  return MirrorRegion(static_cast<std::byte*>(guard.release()), bytes);
}

void MirrorRegion::reset() noexcept {
  if (base_ != nullptr) ::munmap(base_, 2 * size_);
  base_ = nullptr;
  size_ = 0;
}

}  // namespace ringkit
