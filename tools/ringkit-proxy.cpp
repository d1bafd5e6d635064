// ringkit-proxy: a TCP proxy over ringkit rings (a thin main over ringkit::net::Proxy).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>

#include <ringkit/net/proxy.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/version.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kTool = "ringkit-proxy";

void usage() {
  std::printf(
      "usage: ringkit-proxy --listen HOST:PORT --upstream HOST:PORT [options]\n"
      "\n"
      "Proxies every TCP connection accepted on --listen to --upstream through two ringkit\n"
      "rings (one per direction). SIGINT/SIGTERM: stop accepting, drain, print the counters.\n"
      "HOST is an IPv4 address, an IPv6 address in brackets ([::1]:4222) or a name\n"
      "(localhost), resolved once at start.\n"
      "\n"
      "  --listen HOST:PORT     where to accept (port 0: ephemeral, printed at start)\n"
      "  --upstream HOST:PORT   where to connect\n"
      "  --backend uring|asio   event loop (default uring)\n"
      "  --threads N            worker threads, one SO_REUSEPORT listener each (default 1)\n"
      "  --ring-size SIZE       ring per direction, power of two (default 256KiB)\n"
      "  --two-segment          plain two-segment rings instead of mirrored ones\n"
      "  --max-conns N          accept-then-close beyond N open connections (default 10000);\n"
      "                         the soft descriptor limit is raised toward 2N (up to the hard\n"
      "                         limit) and N lowered to what it holds, with a log line\n"
      "  --connect-timeout DUR  upstream connect timeout (default 5s)\n"
      "  --idle-timeout DUR     close connections idle this long, 0 = never (default 30s)\n"
      "  --stats DUR            print counters every DUR (default off)\n"
      "  --drain DUR            how long to let connections finish on stop (default 5s)\n"
      "  --help, --version\n");
}

void print_stats(const char* prefix, const ringkit::net::ProxyStats& s) {
  std::printf("%s accepted=%" PRIu64 " active=%" PRIu64 " completed=%" PRIu64 " rejected=%" PRIu64
              " refused=%" PRIu64 " connect_timeouts=%" PRIu64 " idle_timeouts=%" PRIu64
              " resets=%" PRIu64 " errors=%" PRIu64 " submit_failures=%" PRIu64 " aborted=%" PRIu64
              " bytes_up=%" PRIu64 " bytes_down=%" PRIu64 " accept_errors=%" PRIu64 "\n",
              prefix, s.accepted, s.active, s.completed, s.rejected, s.upstream_refused,
              s.connect_timeouts, s.idle_timeouts, s.resets, s.errors, s.submit_failures, s.aborted,
              s.bytes_up, s.bytes_down, s.accept_errors);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringkit;
  net::ProxyOptions o;
  bool have_listen = false, have_upstream = false;
  std::chrono::nanoseconds stats_every{0};
  std::chrono::nanoseconds drain = std::chrono::seconds(5);
  tools::Args a(kTool, argc, argv);
  while (a.next()) {
    const std::string& n = a.name();
    if (n == "--help" || n == "-h") {
      usage();
      return 0;
    } else if (n == "--version") {
      std::printf("ringkit-proxy %s\n", ringkit::kVersionString);
      return 0;
    } else if (n == "--listen") {
      const auto e = a.endpoint_value();
      o.listen_host = e.host;
      o.listen_port = e.port;
      have_listen = true;
    } else if (n == "--upstream") {
      const auto e = a.endpoint_value();
      o.upstream_host = e.host;
      o.upstream_port = e.port;
      have_upstream = true;
    } else if (n == "--backend") {
      const std::string v = a.value();
      if (v == "uring") {
        o.backend = net::ProxyBackend::uring;
      } else if (v == "asio") {
        o.backend = net::ProxyBackend::asio;
      } else {
        tools::usage_error(kTool, "--backend must be uring or asio");
      }
    } else if (n == "--threads") {
      o.threads = static_cast<unsigned>(a.count_value());
    } else if (n == "--ring-size") {
      o.ring_size = a.size_value();
    } else if (n == "--two-segment") {
      o.mirrored = false;
    } else if (n == "--max-conns") {
      o.max_conns = a.count_value();
    } else if (n == "--connect-timeout") {
      o.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(a.duration_value());
    } else if (n == "--idle-timeout") {
      o.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(a.duration_value());
    } else if (n == "--stats") {
      stats_every = a.duration_value();
    } else if (n == "--drain") {
      drain = a.duration_value();
    } else {
      a.unknown();
    }
  }
  if (!have_listen) tools::usage_error(kTool, "--listen HOST:PORT is required");
  if (!have_upstream) tools::usage_error(kTool, "--upstream HOST:PORT is required");

  o.log = [](std::string_view line) {
    std::fprintf(stderr, "%s: %.*s\n", kTool, static_cast<int>(line.size()), line.data());
  };
  // Two descriptors a connection, and some for the workers: the proxy fits max_conns to what
  // the limit then holds (with a log line).
  tools::raise_fd_limit(2 * std::uint64_t{o.max_conns} + 128 + 8 * std::uint64_t{o.threads});
  tools::install_stop_signals();
  auto proxy = net::Proxy::start(o);
  if (!proxy) {
    std::fprintf(stderr, "%s: %s\n", kTool, proxy.message().c_str());
    return 2;
  }
  std::printf(
      "ringkit-proxy: listening on %s:%u -> %s:%u (backend %s, %u thread(s), ring %zu "
      "KiB %s)\n",
      net::host_for_port(o.listen_host).c_str(), (*proxy)->port(),
      net::host_for_port(o.upstream_host).c_str(), o.upstream_port, net::to_string(o.backend),
      o.threads, o.ring_size / 1024, o.mirrored ? "mirrored" : "two-segment");
  std::fflush(stdout);
  auto next_stats = std::chrono::steady_clock::now() + stats_every;
  while (tools::g_signal == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (stats_every.count() > 0 && std::chrono::steady_clock::now() >= next_stats) {
      print_stats("stats:", (*proxy)->stats());
      next_stats += stats_every;
    }
  }
  std::printf(
      "ringkit-proxy: signal %d, draining (up to %lld ms)\n", static_cast<int>(tools::g_signal),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(drain).count()));
  (*proxy)->stop(std::chrono::duration_cast<std::chrono::milliseconds>(drain));
  print_stats("final:", (*proxy)->stats());
  return 0;
}
