// ringkit-echo: a TCP echo server over ringkit rings (a thin main over ringkit::net::EchoServer).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include <ringkit/net/echo.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/version.hpp>

#include "cli.hpp"

namespace {
constexpr const char* kTool = "ringkit-echo";

void usage() {
  std::printf(
      "usage: ringkit-echo --listen HOST:PORT [--backend uring|asio] [--threads N]\n"
      "                    [--ring-size SIZE] [--help] [--version]\n"
      "\n"
      "Echoes every byte back on each connection, through one ringkit ring per connection.\n"
      "Port 0 picks an ephemeral port; the bound port is printed as 'listening on HOST:PORT'.\n"
      "SIGINT/SIGTERM stop it. HOST: IPv4, [IPv6] in brackets, or a name (localhost).\n");
}
}  // namespace

int main(int argc, char** argv) {
  using namespace ringkit;
  net::EchoOptions o;
  bool have_listen = false;
  tools::Args a(kTool, argc, argv);
  while (a.next()) {
    const std::string& n = a.name();
    if (n == "--help" || n == "-h") {
      usage();
      return 0;
    } else if (n == "--version") {
      std::printf("ringkit-echo %s\n", ringkit::kVersionString);
      return 0;
    } else if (n == "--listen") {
      const auto e = a.endpoint_value();
      o.host = e.host;
      o.port = e.port;
      have_listen = true;
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
    } else {
      a.unknown();
    }
  }
  if (!have_listen) tools::usage_error(kTool, "--listen HOST:PORT is required");
  o.log = [](std::string_view line) {
    std::fprintf(stderr, "%s: %.*s\n", kTool, static_cast<int>(line.size()), line.data());
  };
  tools::raise_fd_limit(std::uint64_t{o.max_conns} + 128 + 8 * std::uint64_t{o.threads});
  tools::install_stop_signals();
  auto echo = net::EchoServer::start(o);
  if (!echo) {
    std::fprintf(stderr, "%s: %s\n", kTool, echo.message().c_str());
    return 2;
  }
  std::printf("ringkit-echo: listening on %s:%u (backend %s, %u thread(s))\n",
              net::host_for_port(o.host).c_str(), (*echo)->port(), net::to_string(o.backend),
              o.threads);
  std::fflush(stdout);
  while (tools::g_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*echo)->stop();
  const net::EchoStats st = (*echo)->stats();
  std::printf("ringkit-echo: stopped; connections=%" PRIu64 " bytes=%" PRIu64 " completed=%" PRIu64
              " resets=%" PRIu64 " errors=%" PRIu64 " submit_failures=%" PRIu64 " aborted=%" PRIu64
              " rejected=%" PRIu64 " accept_errors=%" PRIu64 "\n",
              st.accepted, st.bytes, st.completed, st.resets, st.errors, st.submit_failures,
              st.aborted, st.rejected, st.accept_errors);
  return 0;
}
