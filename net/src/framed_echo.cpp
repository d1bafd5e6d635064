// FramedEchoServer: io::FramedReader (io_uring) and net::async_read_frame (Asio) workers that
// echo every decoded frame re-encoded by the LengthPrepender into an output ring.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/framing.hpp>
#include <ringkit/message_store.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/framed_echo.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#ifdef RINGKIT_HAS_URING
#include <ringkit/io/framed_reader.hpp>
#include <ringkit/io/uring.hpp>
#endif
#ifdef RINGKIT_HAS_ASIO
#include <asio.hpp>

#include <ringkit/net/asio.hpp>
#include <ringkit/net/asio_framing.hpp>

#include "asio_listener.hpp"
#endif

namespace ringkit::net {
namespace {

using Shared = FramedEchoServer::Shared;

/// A worker's message store for copy mode: small pools, no ring store (frames above 16 KiB
/// go to the heap fallback; the echo releases each message right after encoding it).
Result<MessageStore> make_store() {
  MessageStoreOptions o;
  o.pools = PoolConfig::custom(256, 128, 64, 32, 8);
  o.ring_bytes = 0;
  return MessageStore::create(o);
}

/// Adds to a statistics counter. (C1) relaxed: counters order nothing, stats() reads them as a
/// snapshot with (C2).
void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.fetch_add(n, std::memory_order_relaxed);  // (C1)
}
void drop_one(std::atomic<std::uint64_t>& counter) noexcept {
  counter.fetch_sub(1, std::memory_order_relaxed);  // (C1)
}

void count_error(Shared& sh, Errc e) {
  bump(sh.errors);
  if (e != Errc::ok) sh.last_error.store(e, std::memory_order_relaxed);  // (C1)
}

/// Encodes `payload` as one frame into `w`: Errc::ok, Errc::ring_full (retry after a send), or
/// the encoder's error.
template <class Writer>
Errc encode(const LengthPrepender& enc, Writer& w, const ConstSegments& payload) noexcept {
  const std::array<std::span<const std::byte>, 2> parts{payload.first(), payload.second()};
  return enc.write(w, {},
                   std::span<const std::span<const std::byte>>(parts.data(), payload.count()));
}

template <class Ring>
Result<Ring> make_ring(std::size_t size) {
  if constexpr (std::is_same_v<Ring, MirrorByteRing>) {
    return make_mirror_byte_ring(size);
  } else {
    return make_byte_ring(size);
  }
}

#ifdef RINGKIT_HAS_URING

/// One io_uring worker: a multishot accept, one FramedReader and one output ring per connection.
/// Connections are destroyed only between run_once() calls (in flush()), never inside a handler.
template <class Ring>
class UringWorker {
 public:
  UringWorker(Shared& sh, UniqueFd lis, LengthFieldDecoder proto, LengthPrepender enc,
              std::optional<MessageStore> store)
      : sh_(sh), lis_(std::move(lis)), proto_(proto), enc_(enc), store_(std::move(store)) {}

  /// Makes the engine on the worker's own thread: a single-issuer ring with deferred task work
  /// is cheaper per completion; a re-armed recv of an echo rarely finds data already there, so
  /// it polls first. create() drops flags the kernel refuses.
  Result<void> init_on_thread() {
    auto ring = io::Uring::create({.entries = 1024,
                                   .single_issuer = true,
                                   .max_ops = 16384,
                                   .defer_taskrun = true,
                                   .recv_poll_first = true});
    if (!ring) return unexpected(ring.error(), ring.context());
    uring_ = std::move(*ring);
    return {};
  }

  void run() {
    arm_accept();
    while (!sh_.stopping.load(std::memory_order_acquire)) {  // (A1) pairs with (R1) in stop()
      if (!uring_.run_once(std::chrono::milliseconds(50))) break;
      flush();
    }
    ::shutdown(lis_.get(), SHUT_RDWR);
    for (auto& c : conns_) {
      c->reader.stop();
      c->reader.cancel();
      ::shutdown(c->fd.get(), SHUT_RDWR);
    }
    for (int i = 0; i < 200 && !conns_.empty(); ++i) {
      if (!uring_.run_once(std::chrono::milliseconds(10))) break;
      for (auto& c : conns_) c->done = true;
      flush();
    }
  }

 private:
  struct Conn {
    Conn(UringWorker& w, UniqueFd f, Ring in, Ring o, const LengthFieldDecoder& proto)
        : worker(&w),
          fd(std::move(f)),
          decoder(proto),
          out(std::move(o)),
          reader(w.uring_, fd.get(), std::move(in), decoder, *this,
                 {.store = w.store_ ? &*w.store_ : nullptr}) {}
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    Conn(Conn&&) = delete;
    Conn& operator=(Conn&&) = delete;
    ~Conn() = default;

    io::FrameAction on_frame(const io::Frame& f) noexcept {
      const Errc e = encode(worker->enc_, out.writer, f.payload);
      if (e == Errc::ring_full) {
        worker->mark(*this);  // the send that makes room is armed after this batch
        return io::FrameAction::pause;
      }
      if (e != Errc::ok) {  // cannot be re-encoded (e.g. larger than the output ring)
        fail(e);
        return io::FrameAction::stop;
      }
      bump(worker->sh_.frames);
      bump(worker->sh_.bytes_in, f.wire_bytes);
      worker->mark(*this);
      return io::FrameAction::next;
    }
    void on_end(Errc e) noexcept {
      if (e == Errc::ok) {
        clean_eof = true;  // finish() sends SHUT_WR once the echo has left
        worker->mark(*this);
      } else {
        fail(e);
      }
    }
    void fail(Errc e) noexcept {
      if (done) return;
      count_error(worker->sh_, e == Errc::closed ? Errc::ok : e);
      done = true;
      reader.stop();
      ::shutdown(fd.get(), SHUT_RDWR);  // the in-flight recv completes; the peer sees the close
    }

    UringWorker* worker;
    UniqueFd fd;
    LengthFieldDecoder decoder;
    Ring out;
    io::FramedReader<Ring, LengthFieldDecoder, Conn> reader;
    std::size_t index = 0;
    bool sending = false;
    bool marked = false;
    bool clean_eof = false;
    bool done = false;  // no more traffic: destroy once idle
  };

  void mark(Conn& c) {
    if (c.marked) return;
    c.marked = true;
    marked_.push_back(&c);
  }

  /// After a batch of completions: arm the sends (one per connection, covering every frame
  /// encoded in the batch), finish clean ends, destroy idle finished connections.
  void flush() {
    for (std::size_t i = 0; i < marked_.size(); ++i) {  // send handlers may mark more
      Conn& c = *marked_[i];
      c.marked = false;
      if (!c.done) send(c);
      if (!c.done && c.clean_eof && !c.sending && c.out.reader.size_hint() == 0) {
        ::shutdown(c.fd.get(), SHUT_WR);
        bump(sh_.completed);
        c.done = true;
      }
    }
    marked_.clear();
    for (std::size_t i = 0; i < conns_.size();) {
      Conn& c = *conns_[i];
      if (c.done && c.reader.idle() && !c.sending && !c.marked) {
        drop(i);
      } else {
        ++i;
      }
    }
  }

  void send(Conn& c) {
    if (c.sending || c.out.reader.size_hint() == 0) return;
    const io::Submit s =
        uring_.send(c.fd.get(), c.out.reader, [this, pc = &c](const io::OpResult& r) {
          pc->sending = false;
          if (!r.ok()) {
            pc->fail(Errc::closed);
            return;
          }
          bump(sh_.bytes_out, r.bytes);
          if (pc->reader.waiting()) pc->reader.resume();  // room for the paused frame
          mark(*pc);
        });
    if (s) {
      c.sending = true;
    } else if (s.errc != Errc::ring_empty) {
      c.fail(Errc::closed);
    }
  }

  void drop(std::size_t i) {
    if (i + 1 != conns_.size()) std::swap(conns_[i], conns_.back());
    conns_[i]->index = i;
    conns_.pop_back();
    drop_one(sh_.active);
  }

  void arm_accept() {
    (void)uring_.accept(lis_.get(), [this](const io::OpResult& r) {
      if (r.ok() && r.fd >= 0) add(UniqueFd(r.fd));
      // (A2) relaxed hint; the loop's (A1) load is what ends the worker.
      if (!r.more && !sh_.stopping.load(std::memory_order_relaxed)) arm_accept();
    });
  }

  void add(UniqueFd fd) {
    if (sh_.stopping.load(std::memory_order_relaxed)) return;  // (A2) a hint; (A1) decides
    auto in = make_ring<Ring>(sh_.options.ring_size);
    auto out = make_ring<Ring>(sh_.options.ring_size);
    if (!in || !out) return;  // out of memory or mappings: the connection is closed
    const int one = 1;        // echoes are small writes: never hold them back (Nagle)
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bump(sh_.connections);
    bump(sh_.active);
    auto c = std::make_unique<Conn>(*this, std::move(fd), std::move(*in), std::move(*out), proto_);
    c->index = conns_.size();
    Conn& ref = *c;
    conns_.push_back(std::move(c));
    if (ref.reader.start() != Errc::ok) ref.fail(Errc::closed);
    mark(ref);
  }

  Shared& sh_;
  UniqueFd lis_;
  LengthFieldDecoder proto_;
  LengthPrepender enc_;
  std::optional<MessageStore> store_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> marked_;
  io::Uring uring_;  // last: destroyed first, so no handler runs on a destroyed connection
};

#endif  // RINGKIT_HAS_URING

#ifdef RINGKIT_HAS_ASIO

/// The Asio worker's state shared by its connections.
struct AsioWorker {
  Shared& sh;
  LengthFieldDecoder proto;
  LengthPrepender enc;
  std::optional<MessageStore> store;
};

/// One Asio connection: async_read_frame on a DynamicRing, next_frame() for what is buffered,
/// async_write_some_from the output ring.
class AConn : public std::enable_shared_from_this<AConn> {
 public:
  AConn(AsioWorker& w, asio::ip::tcp::socket s, MirrorByteRing in, MirrorByteRing out)
      : w_(w),
        sock_(std::move(s)),
        in_(std::move(in)),
        out_(std::move(out)),
        decoder_(w.proto),
        retry_(sock_.get_executor()) {
    bump(w_.sh.connections);
    bump(w_.sh.active);
  }
  AConn(const AConn&) = delete;
  AConn& operator=(const AConn&) = delete;
  AConn(AConn&&) = delete;
  AConn& operator=(AConn&&) = delete;
  ~AConn() { drop_one(w_.sh.active); }

  void start() { read(); }

 private:
  void read() {
    if (done_ || reading_ || pending_) return;
    reading_ = true;
    async_read_frame(sock_, in_, decoder_,
                     [self = shared_from_this()](std::error_code ec, Decoded d) {
                       self->reading_ = false;
                       self->on_read(ec, d);
                     });
  }

  void on_read(std::error_code ec, const Decoded& d) {
    if (done_) return;
    if (ec == asio::error::eof) {
      clean_eof_ = true;
      finish();
      return;
    }
    if (ec) {
      const bool ours = ec.category() == ringkit::error_category();
      if (ours && d.status == FrameStatus::skipped) {  // a discard report: the stream goes on
        read();
        return;
      }
      fail(ours ? static_cast<Errc>(ec.value()) : Errc::ok);
      return;
    }
    drain(d);
  }

  /// Echoes `d` and every further frame already buffered, then writes and reads on.
  void drain(Decoded d) {
    for (;;) {
      if (d.status == FrameStatus::frame) {
        if (!echo(d)) break;  // waiting for output space or store space (pending_)
      } else if (d.status == FrameStatus::error) {
        fail(d.errc);
        return;
      } else if (d.status == FrameStatus::need_more) {
        break;
      }  // skipped: reported once, bytes already consumed; go on
      d = next_frame(in_.dynamic_buffer(), decoder_);
    }
    write();
    read();
  }

  /// Encodes frame `d` into the output ring; false (frame kept in pending_) when it does not
  /// fit now or the store is exhausted.
  bool echo(const Decoded& d) {
    ConstSegments src = frame_payload(in_.dynamic_buffer(), d);
    MessageRef m;
    if (w_.store) {
      bool whole = true;
      const auto buf = in_.dynamic_buffer();
      Result<MessageRef> r =
          copy_frame(*w_.store, detail::buffer_segments(buf, 0, buf.size(), &whole), d);
      if (!r) {
        const Errc e = static_cast<Errc>(r.error().value());
        if (!is_retryable(e) && e != Errc::store_exhausted) {
          fail(e);
          return false;
        }
        keep(d);
        retry_.expires_after(std::chrono::milliseconds(1));
        retry_.async_wait([self = shared_from_this()](std::error_code) { self->unpend(); });
        return false;
      }
      m = std::move(*r);
      src = ConstSegments(m.bytes());
    }
    const Errc e = encode(w_.enc, out_.writer, src);
    if (e == Errc::ring_full) {
      keep(d);  // the write completion retries it
      return false;
    }
    if (e != Errc::ok) {
      fail(e);
      return false;
    }
    in_.consume(d.consume);
    bump(w_.sh.frames);
    bump(w_.sh.bytes_in, d.consume);
    return true;
  }

  void keep(const Decoded& d) {
    pending_ = true;
    pending_frame_ = d;
  }
  /// Retries the kept frame, then goes on with the buffered ones.
  void unpend() {
    if (done_ || !pending_) return;
    pending_ = false;
    if (!echo(pending_frame_)) {
      write();
      return;
    }
    drain(next_frame(in_.dynamic_buffer(), decoder_));
  }

  void write() {
    if (done_ || writing_ || out_.reader.size_hint() == 0) return;
    writing_ = true;
    async_write_some_from(sock_, out_.reader,
                          [self = shared_from_this()](std::error_code ec, std::size_t n) {
                            self->writing_ = false;
                            if (self->done_) return;
                            if (ec) {
                              self->fail(Errc::ok);
                              return;
                            }
                            bump(self->w_.sh.bytes_out, n);
                            if (self->pending_) {
                              self->unpend();
                            } else {
                              self->write();
                            }
                            self->finish();
                          });
  }

  void finish() {
    if (done_ || !clean_eof_ || writing_ || pending_ || out_.reader.size_hint() != 0) return;
    std::error_code ignored;
    sock_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    bump(w_.sh.completed);
    done_ = true;
  }

  void fail(Errc e) {
    if (done_) return;
    count_error(w_.sh, e);
    done_ = true;
    std::error_code ignored;
    retry_.cancel();
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
  }

  AsioWorker& w_;
  asio::ip::tcp::socket sock_;
  DynamicRing<MirrorByteRing> in_;
  MirrorByteRing out_;
  LengthFieldDecoder decoder_;
  asio::steady_timer retry_;
  Decoded pending_frame_{};
  bool pending_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool clean_eof_ = false;
  bool done_ = false;
};

void run_asio(Shared& sh, UniqueFd lis, AsioWorker& worker) {
  asio::io_context io(1);
  asio::ip::tcp::acceptor acc(io);
  const asio::ip::tcp protocol = detail::protocol_of(lis.get());
  acc.assign(protocol, lis.release());
  std::function<void()> do_accept = [&] {
    acc.async_accept([&](std::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      auto in = make_mirror_byte_ring(sh.options.ring_size);
      auto out = make_mirror_byte_ring(sh.options.ring_size);
      if (in && out) {
        std::error_code ignored;
        s.set_option(asio::ip::tcp::no_delay(true), ignored);
        std::make_shared<AConn>(worker, std::move(s), std::move(*in), std::move(*out))->start();
      }
      do_accept();
    });
  };
  do_accept();
  asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::milliseconds(50));
    tick.async_wait([&](std::error_code ec) {
      if (ec) return;
      if (sh.stopping.load(std::memory_order_acquire)) {  // (A1) pairs with (R1) in stop()
        io.stop();
        return;
      }
      arm();
    });
  };
  arm();
  io.run();
}

#endif  // RINGKIT_HAS_ASIO

}  // namespace

Result<std::unique_ptr<FramedEchoServer>> FramedEchoServer::start(
    const FramedEchoOptions& options) {
  if (options.threads == 0 || options.threads > 256) {
    return unexpected(Errc::invalid_argument, "FramedEchoServer: threads must be 1..256");
  }
  if (options.framing.length_offset != 0 || options.framing.strip_prefix != kStripHeader) {
    return unexpected(Errc::invalid_argument,
                      "FramedEchoServer: the echo re-encodes payloads (length_offset 0, "
                      "strip_prefix kStripHeader)");
  }
  auto proto = LengthFieldDecoder::create(options.framing);
  if (!proto) return unexpected(proto.error(), proto.context());
  auto enc = LengthPrepender::create(options.framing);
  if (!enc) return unexpected(enc.error(), enc.context());
  std::unique_ptr<FramedEchoServer> s(new FramedEchoServer());  // NOLINT(*-owning-memory)
  s->shared_ = std::make_shared<Shared>();
  s->shared_->options = options;
  std::uint16_t port = options.port;
  for (unsigned t = 0; t < options.threads; ++t) {
    auto lis =
        listen_tcp(options.host, port, {.backlog = 4096, .reuse_port = true, .non_blocking = true});
    if (!lis) return unexpected(lis.error(), "FramedEchoServer: bind");
    if (t == 0) {
      port = *local_port(lis->get());
      s->port_ = port;
    }
    std::optional<MessageStore> store;
    if (options.copy_messages) {
      auto st = make_store();
      if (!st) return unexpected(st.error(), st.context());
      store.emplace(std::move(*st));
    }
    std::shared_ptr<Shared> sh = s->shared_;
    if (options.backend == ProxyBackend::uring) {
#ifdef RINGKIT_HAS_URING
      // Each worker makes its engine on its own thread; start() waits until it is ready (or
      // reports its error).
      std::promise<Result<void>> ready;
      std::future<Result<void>> is_ready = ready.get_future();
      auto spawn = [&](auto w) {
        s->threads_.emplace_back([sh, w = std::move(w), ready = std::move(ready)]() mutable {
          Result<void> r = w->init_on_thread();
          const bool ok = r.has_value();
          ready.set_value(r);
          if (ok) w->run();
        });
      };
      if (options.mirrored) {
        spawn(std::make_unique<UringWorker<MirrorByteRing>>(*sh, std::move(*lis), *proto, *enc,
                                                            std::move(store)));
      } else {
        spawn(std::make_unique<UringWorker<ByteRing>>(*sh, std::move(*lis), *proto, *enc,
                                                      std::move(store)));
      }
      if (Result<void> r = is_ready.get(); !r) {
        s->stop();  // the workers already running see `stopping` and return
        return unexpected(r.error(), r.context());
      }
#else
      return unexpected(Errc::unsupported, "FramedEchoServer: backend uring not built");
#endif
    } else {
#ifdef RINGKIT_HAS_ASIO
      auto w = std::make_unique<AsioWorker>(AsioWorker{*sh, *proto, *enc, std::move(store)});
      s->threads_.emplace_back([sh, l = std::move(*lis), w = std::move(w)]() mutable {
        run_asio(*sh, std::move(l), *w);
      });
#else
      return unexpected(Errc::unsupported, "FramedEchoServer: backend asio not built");
#endif
    }
  }
  return s;
}

FramedEchoStats FramedEchoServer::stats() const noexcept {
  const Shared& sh = *shared_;
  FramedEchoStats st;
  // (C2) relaxed snapshot of the (C1) counters.
  st.connections = sh.connections.load(std::memory_order_relaxed);
  st.active = sh.active.load(std::memory_order_relaxed);
  st.frames = sh.frames.load(std::memory_order_relaxed);
  st.bytes_in = sh.bytes_in.load(std::memory_order_relaxed);
  st.bytes_out = sh.bytes_out.load(std::memory_order_relaxed);
  st.completed = sh.completed.load(std::memory_order_relaxed);
  st.errors = sh.errors.load(std::memory_order_relaxed);
  st.last_error = sh.last_error.load(std::memory_order_relaxed);
  return st;
}

void FramedEchoServer::stop() {
  if (!shared_) return;
  shared_->stopping.store(true, std::memory_order_release);  // (R1)
  for (auto& t : threads_) t.join();
  threads_.clear();
}

FramedEchoServer::~FramedEchoServer() { stop(); }

}  // namespace ringkit::net
