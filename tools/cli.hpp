// tools/cli.hpp: command-line helpers shared by the ringkit tools (not part of the library).
//
// Human units: sizes "256KiB", "64k", "1MiB", "4096"; durations "10s", "250ms", "2m", "1h";
// endpoints "HOST:PORT" (IPv4). Bad input prints one line and exits 2, as the tools promise.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/resource.h>

namespace ringkit::tools {

[[noreturn]] inline void usage_error(const char* tool, const std::string& msg) {
  std::fprintf(stderr, "%s: %s (see --help)\n", tool, msg.c_str());
  std::exit(2);
}

/// The text of an errno value (thread-safe, unlike std::strerror).
inline std::string errno_text(int e) {
  return std::error_code(e, std::system_category()).message();
}

inline bool parse_u64(std::string_view s, std::uint64_t& out, std::size_t& used) {
  std::uint64_t v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    ++i;
  }
  used = i;
  out = v;
  return i > 0;
}

/// A whole decimal number ("16384"); false on anything else (empty, sign, suffix, overflow).
inline bool parse_count(std::string_view s, std::uint64_t& out) {
  std::size_t used = 0;
  return parse_u64(s, out, used) && used == s.size();
}

inline std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

/// "256KiB" -> 262144. False on bad input.
inline bool parse_size(std::string_view s, std::uint64_t& out) {
  std::uint64_t v = 0;
  std::size_t used = 0;
  if (!parse_u64(s, v, used)) return false;
  const std::string unit = lower(s.substr(used));
  std::uint64_t mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mul = 1ULL << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    mul = 1ULL << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mul = 1ULL << 30;
  } else {
    return false;
  }
  if (v > UINT64_MAX / mul) return false;
  out = v * mul;
  return true;
}

/// "10s", "250ms", "2m", "1h", "500us"; a bare number is seconds.
inline bool parse_duration(std::string_view s, std::chrono::nanoseconds& out) {
  std::uint64_t v = 0;
  std::size_t used = 0;
  if (!parse_u64(s, v, used)) return false;
  const std::string unit = lower(s.substr(used));
  using namespace std::chrono;
  const auto n = static_cast<std::int64_t>(v);
  if (unit.empty() || unit == "s") {
    out = seconds(n);
  } else if (unit == "ms") {
    out = milliseconds(n);
  } else if (unit == "us") {
    out = microseconds(n);
  } else if (unit == "m" || unit == "min") {
    out = minutes(n);
  } else if (unit == "h") {
    out = hours(n);
  } else {
    return false;
  }
  return true;
}

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (or ":8080" for 127.0.0.1). An IPv6
/// address goes in brackets (the host is stored without them); "::1:8080" is refused as
/// ambiguous.
inline bool parse_endpoint(std::string_view s, Endpoint& out) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::uint64_t port = 0;
  if (!parse_count(s.substr(colon + 1), port) || port > 65535) return false;
  std::string_view host = s.substr(0, colon);
  if (host.starts_with('[')) {
    if (host.size() < 3 || !host.ends_with(']')) return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address without brackets
  }
  out.host = host.empty() ? "127.0.0.1" : std::string(host);
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

/// Iterates argv as --name value / --name=value pairs.
class Args {
 public:
  Args(const char* tool, int argc, char** argv) : tool_(tool), argc_(argc), argv_(argv) {}
  /// Advances to the next argument; false at the end.
  bool next() {
    if (++i_ >= argc_) return false;
    const std::string_view a(argv_[i_]);
    const auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      name_ = std::string(a.substr(0, eq));
      inline_value_ = std::string(a.substr(eq + 1));
      has_inline_ = true;
    } else {
      name_ = std::string(a);
      has_inline_ = false;
    }
    return true;
  }
  [[nodiscard]] const std::string& name() const { return name_; }
  /// The option's value (inline or the next argument); exits 2 if missing.
  std::string value() {
    if (has_inline_) return inline_value_;
    if (i_ + 1 >= argc_) usage_error(tool_, name_ + " needs a value");
    return argv_[++i_];
  }
  std::uint64_t size_value() {
    const std::string v = value();
    std::uint64_t out = 0;
    if (!parse_size(v, out)) usage_error(tool_, "bad size for " + name_ + ": '" + v + "'");
    return out;
  }
  std::uint64_t count_value() {
    const std::string v = value();
    std::uint64_t out = 0;
    if (!parse_count(v, out)) usage_error(tool_, "bad number for " + name_ + ": '" + v + "'");
    return out;
  }
  /// A comma-separated list of exactly `n` counts ("16384,16384,8192,2048,512"); exits 2 if not.
  std::vector<std::uint64_t> count_list_value(std::size_t n) {
    const std::string v = value();
    std::vector<std::uint64_t> out;
    bool good = true;
    std::string_view rest = v;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      std::uint64_t x = 0;
      good = good && parse_count(item, x);
      out.push_back(x);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!good || out.size() != n) {
      usage_error(tool_, "bad list for " + name_ + " (" + std::to_string(n) +
                             " comma-separated numbers): '" + v + "'");
    }
    return out;
  }
  std::chrono::nanoseconds duration_value() {
    const std::string v = value();
    std::chrono::nanoseconds out{};
    if (!parse_duration(v, out)) {
      usage_error(tool_, "bad duration for " + name_ + ": '" + v + "'");
    }
    return out;
  }
  Endpoint endpoint_value() {
    const std::string v = value();
    Endpoint e;
    if (!parse_endpoint(v, e)) usage_error(tool_, "bad HOST:PORT for " + name_ + ": '" + v + "'");
    return e;
  }
  [[noreturn]] void unknown() { usage_error(tool_, "unknown argument '" + name_ + "'"); }

 private:
  const char* tool_;
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string name_;
  std::string inline_value_;
  bool has_inline_ = false;
};

/// SIGINT/SIGTERM set this flag (async-signal-safe); tools poll it.
/// Raises this process's soft descriptor limit (RLIMIT_NOFILE) toward `want`, no further than
/// the hard limit, as servers do for their connection limit (the libraries never change process
/// limits; a tool may). Returns the soft limit in effect afterwards.
inline std::uint64_t raise_fd_limit(std::uint64_t want) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return rl.rlim_cur;
  rlimit up = rl;
  up.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min<rlim_t>(want, rl.rlim_max);
  return ::setrlimit(RLIMIT_NOFILE, &up) == 0 ? up.rlim_cur : rl.rlim_cur;
}

inline volatile std::sig_atomic_t g_signal = 0;
inline void on_signal(int sig) { g_signal = sig; }
inline void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace ringkit::tools
