// Private to net/src: accepting connections on one listener through an io::Uring, shared by the
// relay's io_uring backend (proxy, echo server) and the feed server.
//
// While a burst of a whole backlog fits the descriptor budget (Owner::accept_bursts_fit(), see
// fd_budget.hpp) one multishot accept stays armed: the kernel takes every pending connection
// without a submission each. Near the budget, one accept at a time, and after each completion
// up to kAcceptBurst - 1 more synchronous accept4() calls, never more than Owner::accept_room()
// connections: a backlog near the limit still drains in one loop iteration (one accept per
// completion waited behind every other completion of the loop, seconds at 9,000 connections),
// and no accept can take a descriptor the budget does not have. A failed accept (EMFILE,
// ENFILE, ENOMEM, a failed submission) goes to Owner::accept_failed() and is not re-armed: the
// owner calls arm() again later (a busy loop otherwise).
//
// The Owner provides:
//   bool accept_bursts_fit() const;          // a multishot accept may be armed now
//   std::size_t accept_room() const;         // connections that may still be taken now
//   void accepted(UniqueFd fd);              // a new connection
//   void accept_failed(std::string_view why);  // counted and logged by the owner
//
// Thread safety: single-owner, on the thread of the engine it submits to.
#pragma once

#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/socket.h>

#include <ringkit/error.hpp>
#include <ringkit/io/uring.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#include "fd_budget.hpp"

namespace ringkit::net::detail {

template <class Owner>
class UringAcceptor {
 public:
  /// `ring` is the engine accepts are submitted to (it may be created later: it is used from
  /// arm() on). The listener is made non-blocking (the burst's accept4() stops at EAGAIN; no
  /// burst if that fails).
  UringAcceptor(Owner& owner, io::Uring& ring, UniqueFd listener) noexcept
      : owner_(owner), ring_(ring), lis_(std::move(listener)) {
    // Without O_NONBLOCK the burst's accept4() could block the worker: no burst then.
    non_blocking_ = lis_.valid() && static_cast<bool>(set_non_blocking(lis_.get()));
  }
  UringAcceptor(const UringAcceptor&) = delete;
  UringAcceptor& operator=(const UringAcceptor&) = delete;
  UringAcceptor(UringAcceptor&&) = delete;
  UringAcceptor& operator=(UringAcceptor&&) = delete;
  ~UringAcceptor() = default;

  /// Arms an accept unless one is armed or the listener is closed.
  void arm() {
    if (live_ || !lis_.valid()) return;
    multishot_ = owner_.accept_bursts_fit();
    auto on = [this](const io::OpResult& r) { on_complete(r); };
    const io::Submit sub =
        multishot_ ? ring_.accept(lis_.get(), on) : ring_.accept_once(lis_.get(), on);
    live_ = static_cast<bool>(sub);
    id_ = sub.id;
    if (!sub) owner_.accept_failed(std::string("accept submission failed: ") + describe(sub.errc));
  }
  /// Whether an accept is armed (if not, the owner calls arm() when it wants to retry).
  [[nodiscard]] bool live() const noexcept { return live_; }
  /// Stops accepting: cancels the armed accept and shuts the listener down, so new connects are
  /// refused at once rather than left in a backlog (the accept in flight holds a reference to
  /// the socket until the kernel retires it), then closes it. A completion after it hands
  /// nothing over (a connection it still brings is closed) and reports no error. Idempotent.
  void close() noexcept {
    if (live_) (void)ring_.cancel(id_);
    if (lis_.valid()) (void)::shutdown(lis_.get(), SHUT_RDWR);
    lis_.reset();
  }

 private:
  void on_complete(const io::OpResult& r) {
    if (!r.more) live_ = false;
    if (!lis_.valid()) {  // closed: nothing more is taken, and no error reported
      if (r.ok() && r.fd >= 0) UniqueFd{r.fd}.reset();
      return;
    }
    if (r.ok() && r.fd >= 0) {
      owner_.accepted(UniqueFd(r.fd));
      if (!multishot_ && !burst()) return;
    } else if (r.status == io::IoStatus::error) {
      owner_.accept_failed("accept failed: " + r.error().message());
      return;
    }
    // Into the descriptor margin: end the multishot; its last completion re-arms one at a time.
    if (live_ && multishot_ && !owner_.accept_bursts_fit()) {
      multishot_ = false;  // cancel once
      (void)ring_.cancel(id_);
    }
    if (!live_) arm();
  }
  /// The synchronous accepts after a single one; false after a failed accept (not re-armed).
  bool burst() {
    if (!non_blocking_) return true;
    for (int i = 1; i < kAcceptBurst && lis_.valid() && owner_.accept_room() > 0; ++i) {
      const int fd = ::accept4(lis_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        owner_.accepted(UniqueFd(fd));
        continue;
      }
      const int e = errno;
      if (e == EINTR || e == ECONNABORTED) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      owner_.accept_failed("accept failed: " +
                           std::error_code(e, std::system_category()).message());
      return false;
    }
    return true;
  }

  Owner& owner_;
  io::Uring& ring_;
  UniqueFd lis_;
  bool live_ = false;
  bool multishot_ = false;     ///< the accept armed is multishot (else one at a time)
  bool non_blocking_ = false;  ///< the listener is non-blocking (the burst may run)
  io::OpId id_{};
};

}  // namespace ringkit::net::detail
