// bench/asio_bench_boost.cpp: the Boost.Asio-based impls of asio_bench's BM_asio_echo
// (beast_flat, beast_multi, boost_asio_string; see peers/beast_echo.hpp), in their own
// translation unit because standalone Asio and Boost.Asio cannot be included together. Linked
// into asio_bench (not asio_bench_uring) by bench/CMakeLists.txt, which then defines
// RINGKIT_BENCH_WITH_BOOST_ECHO for asio_bench.cpp.
#include "peers/beast_echo.hpp"
#include "support/echo.hpp"

namespace ringkit::bench {

void register_boost_echo() {
#if RINGKIT_BENCH_HAVE_BEAST
  register_echo<BeastFlatEcho>();
  register_echo<BeastMultiEcho>();
#endif
#if RINGKIT_BENCH_HAVE_BOOST_ASIO
  register_echo<BoostAsioStringEcho>();
#endif
}

}  // namespace ringkit::bench
