// bench/peers/malloc.hpp: the general-purpose allocator peers of the message-storage benchmarks
// (event pools, ring allocator): glibc malloc, mimalloc, jemalloc and tcmalloc.
//
// Each of those allocators replaces malloc/free for the whole process, so two of them cannot be
// measured in one process. bench/CMakeLists.txt therefore compiles every benchmark listed in
// RINGKIT_BENCH_PER_MALLOC once and links it once per allocator: <name> (glibc), <name>_mimalloc,
// <name>_jemalloc, <name>_tcmalloc. Every binary runs ringkit and the allocator it got,
// interleaved, so each binary's own JSON gives the ratio ringkit/<peer> (tools/bench_ratios.py).
//
// Interface (peer "system_malloc"):
//   SystemMalloc::name()              the <impl> part of BM_<op>/<impl>/<args>: "glibc",
//                                     "mimalloc", "jemalloc" or "tcmalloc" — read at run time
//                                     from the library that provides the process's malloc
//                                     (dladdr), so a binary can never report the wrong peer
//   SystemMalloc::allocate(n)         malloc(n), never optimised away
//   SystemMalloc::release(p)          free(p)
//   SystemMalloc::verify()            nullptr when the allocator was recognised, else the reason;
//                                     a benchmark calls state.SkipWithError with it.
// Thread safety: as malloc/free.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string_view>

#include <dlfcn.h>

namespace ringkit::bench {

struct SystemMalloc {
  /// The allocator behind this process's malloc ("unknown" if it cannot be told).
  [[nodiscard]] static std::string_view name() noexcept {
    static const std::string_view detected = detect();
    return detected;
  }

  [[nodiscard]] static void* allocate(std::size_t n) noexcept {
    void* p = std::malloc(n);  // NOLINT(cppcoreguidelines-no-malloc): the peer under test
    asm volatile("" : : "r"(p) : "memory");
    return p;
  }
  static void release(void* p) noexcept {
    std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): the peer under test
  }

  /// nullptr when the allocator was recognised, else why not.
  [[nodiscard]] static const char* verify() noexcept {
    return name() == "unknown" ? "cannot tell which library provides malloc (dladdr)" : nullptr;
  }

 private:
  [[nodiscard]] static std::string_view detect() noexcept {
    void* sym = ::dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info{};
    if (sym == nullptr || ::dladdr(sym, &info) == 0 || info.dli_fname == nullptr) return "unknown";
    const std::string_view file = info.dli_fname;
    for (const std::string_view lib : {"mimalloc", "jemalloc", "tcmalloc"}) {
      if (file.find(lib) != std::string_view::npos) return lib;
    }
    return file.find("libc.so") != std::string_view::npos ? "glibc" : "unknown";
  }
};

}  // namespace ringkit::bench
