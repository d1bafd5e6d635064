// ringkit-feed: a pub/sub fan-out server speaking the core NATS client protocol (a thin main over
// ringkit::net::FeedServer; see docs/feed.md).
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <ringkit/net/feed.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/version.hpp>

#include "cli.hpp"

namespace {
constexpr const char* kTool = "ringkit-feed";

void usage() {
  std::printf(
      "usage: ringkit-feed --listen HOST:PORT [--threads N] [--max-payload SIZE]\n"
      "                    [--max-control-line SIZE] [--max-pending SIZE] [--max-conns N]\n"
      "                    [--out-ring SIZE] [--ping-interval DUR] [--max-pings-out N]\n"
      "                    [--store-slots XS,S,M,L,XL] [--store-large N] [--store-ring SIZE]\n"
      "                    [--quiet] [--help] [--version]\n"
      "\n"
      "A NATS-protocol fan-out server (PUB/SUB/UNSUB/PING, wildcards) built from ringkit's\n"
      "rings, decoders, event pools and io_uring engine; clients of nats-server connect to it\n"
      "unchanged. Port 0 picks an ephemeral port; the bound port is printed as\n"
      "'listening on HOST:PORT'. SIGINT/SIGTERM stop it and print the counters.\n"
      "HOST: IPv4, [IPv6] in brackets, or a name (localhost).\n"
      "Defaults: 1 thread, max payload 1MiB, control line 4096, max pending 64MiB per\n"
      "connection, 10000 connections, 256KiB output ring per connection, a PING after 2m\n"
      "of silence and -ERR 'Stale Connection' after 2 unanswered (--ping-interval 0: never).\n"
      "Message store per worker: --store-slots 16384,16384,8192,2048,512 (messages of up to\n"
      "64 B, 256 B, 1 KiB, 4 KiB and 16 KiB held at once), --store-large 4096 (larger ones on\n"
      "the heap; 0: none) and, with one thread, --store-ring 16MiB (larger ones there first).\n");
}
}  // namespace

int main(int argc, char** argv) {
  using namespace ringkit;
  net::FeedOptions o;
  bool have_listen = false;
  bool quiet = false;
  tools::Args a(kTool, argc, argv);
  while (a.next()) {
    const std::string& n = a.name();
    if (n == "--help" || n == "-h") {
      usage();
      return 0;
    } else if (n == "--version") {
      std::printf("ringkit-feed %s\n", ringkit::kVersionString);
      return 0;
    } else if (n == "--listen") {
      const auto e = a.endpoint_value();
      o.host = e.host;
      o.port = e.port;
      have_listen = true;
    } else if (n == "--threads") {
      o.threads = static_cast<unsigned>(a.count_value());
    } else if (n == "--max-payload") {
      o.max_payload = a.size_value();
    } else if (n == "--max-control-line") {
      o.max_control_line = a.size_value();
    } else if (n == "--max-pending") {
      o.max_pending = a.size_value();
    } else if (n == "--max-conns") {
      o.max_conns = a.count_value();
    } else if (n == "--out-ring") {
      o.out_ring = a.size_value();
    } else if (n == "--ping-interval") {
      o.ping_interval = std::chrono::duration_cast<std::chrono::milliseconds>(a.duration_value());
    } else if (n == "--max-pings-out") {
      o.max_pings_out = static_cast<unsigned>(a.count_value());
    } else if (n == "--store-slots") {
      const std::vector<std::uint64_t> v = a.count_list_value(o.store_pools.slots.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        o.store_pools.slots[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(v[i], ~0U));
      }
    } else if (n == "--store-large") {
      const std::uint64_t large = a.count_value();  // 0: none on the heap
      o.store_pools.xxl_enabled = large != 0;
      if (large != 0)
        o.store_pools.xxl_slots = static_cast<std::uint32_t>(std::min<std::uint64_t>(large, ~0U));
    } else if (n == "--store-ring") {
      o.store_ring = a.size_value();
    } else if (n == "--quiet") {
      quiet = true;
    } else {
      a.unknown();
    }
  }
  if (!have_listen) tools::usage_error(kTool, "--listen HOST:PORT is required");
  if (!quiet) {
    o.log = [](std::string_view line) {
      std::fprintf(stderr, "%s: %.*s\n", kTool, static_cast<int>(line.size()), line.data());
    };
  }
  tools::raise_fd_limit(std::uint64_t{o.max_conns} + 128 + 8 * std::uint64_t{o.threads});
  tools::install_stop_signals();
  auto feed = net::FeedServer::start(o);
  if (!feed) {
    std::fprintf(stderr, "%s: %s\n", kTool, feed.message().c_str());
    return 2;
  }
  std::printf("ringkit-feed: listening on %s:%u (%u thread(s), max_payload %zu)\n",
              net::host_for_port(o.host).c_str(), (*feed)->port(), o.threads, o.max_payload);
  std::fflush(stdout);
  while (tools::g_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*feed)->stop();
  const net::FeedStats st = (*feed)->stats();
  std::printf("ringkit-feed: stopped; connections=%" PRIu64 " rejected=%" PRIu64
              " published=%" PRIu64 " delivered=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64
              " protocol_errors=%" PRIu64 " slow_consumers=%" PRIu64 " io_errors=%" PRIu64
              " store_waits=%" PRIu64 " forwarded=%" PRIu64 " accept_errors=%" PRIu64
              " stale_connections=%" PRIu64 "\n",
              st.connections, st.rejected, st.published, st.delivered, st.bytes_in, st.bytes_out,
              st.protocol_errors, st.slow_consumers, st.io_errors, st.store_waits, st.forwarded,
              st.accept_errors, st.stale_connections);
  return 0;
}
