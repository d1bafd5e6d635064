// bench/peers/malloc.hpp: the general-purpose allocator peers of the message-storage benchmarks
// (event pools, ring allocator): glibc malloc, mimalloc, jemalloc and tcmalloc.
//
// Each of those allocators replaces malloc/free for the whole process, so two of them cannot be
// measured in one process. bench/CMakeLists.txt therefore builds every benchmark listed in
// RINGKIT_BENCH_PER_MALLOC once per allocator: <name> (glibc), <name>_mimalloc, <name>_jemalloc,
// <name>_tcmalloc, each linked against that allocator (RINGKIT_BENCH_MALLOC=<peer>). Every binary
// runs ringkit and the allocator it was linked with, interleaved, so each binary's own JSON gives
// the ratio ringkit/<peer> (tools/bench_ratios.py).
//
// Interface (peer "system_malloc"):
//   SystemMalloc::kName               the <impl> part of BM_<op>/<impl>/<args>: "glibc",
//                                     "mimalloc", "jemalloc" or "tcmalloc"
//   SystemMalloc::allocate(n)         malloc(n), never optimised away
//   SystemMalloc::release(p)          free(p)
//   SystemMalloc::verify()            nullptr when malloc really is kName's (checked with dladdr
//                                     on the malloc the process resolved), else the reason; a
//                                     benchmark calls state.SkipWithError with it, so a link that
//                                     silently fell back to glibc never reports a ratio.
// Thread safety: as malloc/free.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <dlfcn.h>

#ifndef RINGKIT_BENCH_MALLOC
#define RINGKIT_BENCH_MALLOC glibc
#endif
#define RINGKIT_BENCH_STR2(x) #x
#define RINGKIT_BENCH_STR(x) RINGKIT_BENCH_STR2(x)

namespace ringkit::bench {

struct SystemMalloc {
  static constexpr std::string_view kName = RINGKIT_BENCH_STR(RINGKIT_BENCH_MALLOC);

  [[nodiscard]] static void* allocate(std::size_t n) noexcept {
    void* p = std::malloc(n);  // NOLINT(cppcoreguidelines-no-malloc): the peer under test
    asm volatile("" : : "r"(p) : "memory");
    return p;
  }
  static void release(void* p) noexcept {
    std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): the peer under test
  }

  /// nullptr when the process's malloc comes from the library kName names, else why not.
  [[nodiscard]] static const char* verify() noexcept {
    void* sym = ::dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info{};
    if (sym == nullptr || ::dladdr(sym, &info) == 0 || info.dli_fname == nullptr) {
      return "cannot tell which library provides malloc (dladdr failed)";
    }
    const std::string_view file = info.dli_fname;
    const std::string_view want = kName == "glibc"      ? "libc.so"
                                  : kName == "tcmalloc" ? "libtcmalloc"
                                                        : kName;
    if (file.find(want) == std::string_view::npos) {
      return "malloc is not provided by the allocator this binary was linked for";
    }
    return nullptr;
  }
};

}  // namespace ringkit::bench
