// Test support: a tiny blocking NATS protocol client for the feed conformance tests
// (tests/integration/feed_test.cpp), which run the same cases against nats-server and
// ringkit::net::FeedServer.
//
// It speaks raw bytes: send() writes exactly what the test gives it, and the readers return the
// server's bytes verbatim (lines include their "\r\n"), so expectations can be the exact bytes
// nats-server sends (docs/feed-protocol-facts.md). Every read is bounded by poll() and a deadline
// (5 s by default), so a server that goes silent fails the test instead of hanging it.
//
// Unsolicited server PINGs: nats-server sends one "PING\r\n" about 2 s after CONNECT (then every
// ping_interval). The line readers skip a "PING\r\n" line and answer "PONG\r\n" (pings_seen()
// counts them), so a test never sees them. A test's own PING is answered by the server with
// PONG, which is never skipped.
//
// Thread safety: one NatsClient per thread.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ringkit/unique_fd.hpp>

namespace ringkit_test {

/// One MSG as received: `MSG <subject> <sid> [reply] <#bytes>\r\n<payload>\r\n`.
struct NatsMsg {
  std::string subject;
  std::string sid;
  std::string reply;  ///< empty when the MSG line had none
  std::string payload;
  bool operator==(const NatsMsg&) const = default;
};

class NatsClient {
 public:
  using ms = std::chrono::milliseconds;
  static constexpr ms kTimeout{5000};

  NatsClient() = default;

  /// Connects to 127.0.0.1:port (bounded by `timeout`) and, if `read_info`, reads the INFO line
  /// (info()). `rcvbuf` > 0 sets SO_RCVBUF before connecting (a slow consumer's small window).
  bool connect(std::uint16_t port, bool read_info = true, int rcvbuf = 0, ms timeout = kTimeout) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) return false;
    if (rcvbuf > 0) ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    const int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      if (errno != EINPROGRESS || !wait(POLLOUT, deadline(timeout))) return fail();
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return fail();
    }
    buf_.clear();
    if (!read_info) return true;
    auto line = read_line(timeout);
    if (!line || !line->starts_with("INFO ")) return fail();
    info_ = std::move(*line);
    return true;
  }

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const std::string& info() const noexcept { return info_; }
  [[nodiscard]] int pings_seen() const noexcept { return pings_; }
  /// Whether the line readers answer a server PING (on by default; off: a client that has gone
  /// silent, for the server's keep-alive).
  void answer_pings(bool on) noexcept { answer_pings_ = on; }
  /// Closes the connection (also done by the destructor).
  void close() { fd_.reset(); }

  /// Writes all of `data` (bounded by `timeout`); false on error or timeout.
  bool send(std::string_view data, ms timeout = kTimeout) {
    const auto end = deadline(timeout);
    while (!data.empty()) {
      const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait(POLLOUT, end)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  /// The next line, with its terminator (normally "\r\n"), skipping unsolicited "PING\r\n"
  /// (answered with PONG). nullopt on EOF, error or timeout (see closed()).
  std::optional<std::string> read_line(ms timeout = kTimeout) {
    const auto end = deadline(timeout);
    for (;;) {
      auto line = raw_line(end);
      if (!line) return line;
      if (*line != "PING\r\n") return line;
      ++pings_;
      if (answer_pings_) send("PONG\r\n");
    }
  }

  /// Exactly n bytes (nullopt on EOF, error or timeout).
  std::optional<std::string> read_bytes(std::size_t n, ms timeout = kTimeout) {
    const auto end = deadline(timeout);
    while (buf_.size() < n)
      if (!fill(end)) return std::nullopt;
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  /// The next MSG (nullopt on EOF, timeout, or when the next line is not a well-formed MSG;
  /// last_line() then holds what came instead).
  std::optional<NatsMsg> read_msg(ms timeout = kTimeout) {
    const auto end = deadline(timeout);
    auto line = read_line(remaining(end));
    if (!line) return std::nullopt;
    last_line_ = *line;
    auto header = parse_msg_line(*line);
    if (!header) return std::nullopt;
    auto body = read_bytes(header->size + 2, remaining(end));
    if (!body || !body->ends_with("\r\n")) return std::nullopt;
    body->resize(header->size);
    header->msg.payload = std::move(*body);
    return std::move(header->msg);
  }
  [[nodiscard]] const std::string& last_line() const noexcept { return last_line_; }

  /// Sends `data` + "PING\r\n" and returns every byte the server sent before the PONG that
  /// answers it (MSG payloads are read by their length, so a payload "PONG" is no confusion).
  /// nullopt if the connection closed or the PONG did not come in time; got() then holds the
  /// bytes received meanwhile.
  std::optional<std::string> exchange(std::string_view data, ms timeout = kTimeout) {
    got_.clear();
    if (!send(data) || !send("PING\r\n")) return std::nullopt;
    const auto end = deadline(timeout);
    for (;;) {
      auto line = read_line(remaining(end));
      if (!line) return std::nullopt;
      if (*line == "PONG\r\n") return got_;
      got_ += *line;
      if (auto h = parse_msg_line(*line)) {
        auto body = read_bytes(h->size + 2, remaining(end));
        if (!body) return std::nullopt;
        got_ += *body;
      }
    }
  }
  [[nodiscard]] const std::string& got() const noexcept { return got_; }

  /// Reads until the server closes (EOF or reset) and returns what came before it (unsolicited
  /// PING lines dropped); nullopt if the connection is still open at the deadline.
  std::optional<std::string> read_until_closed(ms timeout = kTimeout) {
    const auto end = deadline(timeout);
    std::string out;
    for (;;) {
      auto line = read_line(remaining(end));
      if (line) {
        out += *line;
        continue;
      }
      if (!closed_) return std::nullopt;
      out += buf_;  // a partial last line
      buf_.clear();
      return out;
    }
  }
  /// True when the server closed (nothing but unsolicited PINGs before it) within the deadline.
  bool expect_closed(ms timeout = kTimeout) {
    auto rest = read_until_closed(timeout);
    return rest && rest->empty();
  }
  /// True if nothing at all arrives for `quiet` and the connection stays open.
  bool quiet_for(ms quiet) {
    if (!buf_.empty()) return false;
    return !fill(deadline(quiet)) && !closed_;
  }

  /// The last read ended in EOF or a reset (as opposed to a timeout).
  [[nodiscard]] bool closed() const noexcept { return closed_; }

  /// Parses a MSG line ("MSG subject sid [reply] size\r\n") or an HMSG line ("HMSG subject sid
  /// [reply] header-size total-size\r\n": `size` is the total, headers included).
  struct MsgHeader {
    NatsMsg msg;
    std::size_t size = 0;
    std::size_t header = 0;  ///< HMSG: bytes of the payload that are headers
  };
  static std::optional<MsgHeader> parse_msg_line(std::string_view line) {
    const bool hmsg = line.starts_with("HMSG ");
    if ((!hmsg && !line.starts_with("MSG ")) || !line.ends_with("\r\n")) return std::nullopt;
    line.remove_prefix(hmsg ? 5 : 4);
    line.remove_suffix(2);
    const std::size_t sizes = hmsg ? 2 : 1;
    std::string_view tok[5];
    std::size_t n = 0;
    while (!line.empty()) {
      const auto sp = line.find(' ');
      if (n == 3 + sizes) return std::nullopt;
      tok[n++] = line.substr(0, sp);
      if (sp == std::string_view::npos) break;
      line.remove_prefix(sp + 1);
    }
    if (n < 2 + sizes) return std::nullopt;
    MsgHeader h;
    h.msg.subject = tok[0];
    h.msg.sid = tok[1];
    if (n == 3 + sizes) h.msg.reply = tok[2];
    auto number = [](std::string_view t, std::size_t& out) {
      if (t.empty()) return false;
      out = 0;
      for (char c : t) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<std::size_t>(c - '0');
      }
      return true;
    };
    if (!number(tok[n - 1], h.size)) return std::nullopt;
    if (hmsg && (!number(tok[n - 2], h.header) || h.header > h.size)) return std::nullopt;
    return h;
  }

 private:
  using clock = std::chrono::steady_clock;
  static clock::time_point deadline(ms t) { return clock::now() + t; }
  static ms remaining(clock::time_point end) {
    const auto left = std::chrono::duration_cast<ms>(end - clock::now());
    return left.count() > 0 ? left : ms{0};
  }
  bool fail() {
    fd_.reset();
    return false;
  }
  /// Waits for `events`; false on timeout.
  bool wait(short events, clock::time_point end) {
    for (;;) {
      pollfd p{fd_.get(), events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(remaining(end).count()));
      if (r > 0) return true;
      if (r == 0) return false;
      if (errno != EINTR) return false;
    }
  }
  /// Appends what is readable to buf_; false on timeout, EOF or error (closed_ set for the
  /// last two).
  bool fill(clock::time_point end) {
    closed_ = false;
    if (!fd_) {
      closed_ = true;
      return false;
    }
    char tmp[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), tmp, sizeof tmp, 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<std::size_t>(n));
        return true;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        closed_ = true;
        return false;
      }
      if (!wait(POLLIN, end)) return false;
    }
  }
  std::optional<std::string> raw_line(clock::time_point end) {
    std::size_t scanned = 0;
    for (;;) {
      const auto nl = buf_.find('\n', scanned);
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl + 1);
        buf_.erase(0, nl + 1);
        return line;
      }
      scanned = buf_.size();
      if (!fill(end)) return std::nullopt;
    }
  }

  ringkit::UniqueFd fd_;
  std::string buf_;
  std::string info_;
  std::string got_;
  std::string last_line_;
  int pings_ = 0;
  bool answer_pings_ = true;
  bool closed_ = false;
};

}  // namespace ringkit_test
