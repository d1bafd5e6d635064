// ringkit/net/feed.hpp: a pub/sub fan-out server that speaks the core NATS client protocol,
// built from ringkit's parts (the server behind tools/ringkit-feed and `tools/ringkit demo
// --feed`).
//
// Each connection reads into a mirrored byte ring with the io_uring engine
// (io::FramedReader); the control line is found by the delimiter decoder (line mode) and a
// PUB's payload by its announced length (net::NatsDecoder, below); each published message is
// copied once into the worker's MessageStore (an event-pool slot up to 16 KiB, a ring-allocator
// buffer above) together with its subject; its refcounted handle goes to every matching
// subscription (on other workers through an MPSC channel of EventTokens); a subscriber's `MSG`
// header is written into its output ring and the payload leaves straight from the stored
// message (one gathered sendmsg per batch, no per-subscriber copy of the payload).
//
// Protocol (the client subset of nats-server 2.9): INFO on connect; CONNECT (verbose: +OK after
// every accepted operation; pedantic: subjects are checked strictly), PUB subject [reply]
// #bytes, HPUB subject [reply] #headers #bytes, SUB subject [queue] sid, UNSUB sid [max],
// PING/PONG, MSG, +OK/-ERR. Subjects are dot-separated tokens; `*` matches one token, `>` the rest
// (last token only). Errors are answered as nats-server answers them (docs/feed.md lists
// each) and close the connection when nats-server closes it: a malformed control line, a
// payload not followed by CRLF, PUB above max_payload, a control line above
// max_control_line. Queue groups: each message goes to every plain subscription and to one
// member of each matching group, picked at random among the group's members on all workers
// (the publishing worker picks the worker, weighted by its members; that worker picks the
// member). Headers (HPUB, when CONNECT says "headers":true): HMSG to subscribers that
// negotiated them, MSG with the body only to the others; with no_responders as well, a
// request that no subscription on any worker takes gets nats-server's 503 status message. Not
// supported: auth, TLS, clustering.
//
// Slow consumers (as nats-server): while a connection has more than max_pending / 2 bytes queued
// and not yet taken by its socket (or its output ring is more than 3/4 full), the publishers of its
// worker pause before their next message and the worker stops taking messages from the other
// workers (whose publishers pause in turn once their backlog to it is full): the feed slows to the
// reader's pace and memory stays bounded. A connection that stays above that mark with a socket
// that accepts nothing for write_deadline, or whose queue would exceed max_pending, or whose output
// ring is full, is a slow consumer: it is sent -ERR 'Slow Consumer' when the cut falls on a message
// boundary (nats-server sends nothing), closed, and counted in FeedStats::slow_consumers.
//
// Thread safety: start/stop/port/stats are thread-safe; the workers are internal threads (one
// SO_REUSEPORT listener and io_uring loop per thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <ringkit/event_pool.hpp>
#include <ringkit/result.hpp>

namespace ringkit::net {

/// Options of FeedServer::start().
struct FeedOptions {
  /// The default of store_pools: 16,384 XS and S slots, 8,192 M, 2,048 L, 512 XL (at most
  /// 29 MiB of slabs a worker) and 4,096 live messages above 16 KiB on the heap.
  [[nodiscard]] static constexpr PoolConfig default_store_pools() noexcept {
    PoolConfig c = PoolConfig::custom(16384, 16384, 8192, 2048, 512);
    c.xxl_enabled = true;
    c.xxl_slots = 4096;
    c.xxl_max_bytes = (65U << 20U) + 64U;  // the largest max_payload with the longest subject
    return c;
  }
  /// An IPv4 or IPv6 address or a host name (ringkit/net/tcp.hpp), resolved once at start.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: an ephemeral port (see FeedServer::port())
  unsigned threads = 1;    ///< workers (1 .. 64), each with its own listener and io_uring
  /// Largest PUB payload (announced in INFO as max_payload, like nats-server's 1 MiB default).
  std::size_t max_payload = std::size_t{1} << 20U;
  /// Longest control line, CRLF excluded (nats-server: 4096).
  std::size_t max_control_line = 4096;
  /// Most connections open at once, over all workers; more are accepted and closed at once.
  /// Capped at start to what RLIMIT_NOFILE can hold (see FeedServer::max_conns()).
  std::size_t max_conns = 10000;
  /// Bytes of messages (headers and payloads) a connection may have queued and not yet sent
  /// before it is a slow consumer (nats-server's max_pending default: 64 MiB).
  std::size_t max_pending = std::size_t{64} << 20U;
  /// How long a connection above max_pending / 2 may go without its socket accepting a byte
  /// before it is cut as a slow consumer (nats-server's write_deadline).
  std::chrono::milliseconds write_deadline{2000};
  /// Keep-alive, as nats-server's ping_interval: a connection that sent nothing for this long
  /// is sent a PING; one that leaves more than max_pings_out of them unanswered (no PONG, no
  /// other data) is answered -ERR 'Stale Connection', closed and counted in
  /// FeedStats::stale_connections, so a peer that vanished without a FIN or RST gives its
  /// descriptor and buffers back. 0: never ping.
  std::chrono::milliseconds ping_interval{std::chrono::minutes(2)};
  unsigned max_pings_out = 2;  ///< 1 .. 1000 (nats-server's ping_max)
  /// Output ring per connection (MSG headers and protocol replies; the payloads stay in the
  /// message store), a power of two >= 4 KiB. It bounds the resident memory of a busy
  /// connection; more than three quarters full counts as congested (see above).
  std::size_t out_ring = std::size_t{256} << 10U;
  /// The message store of each worker (ringkit/message_store.hpp): every published message is
  /// copied once into an event-pool slot of its size class (XS 64 B .. XL 16 KiB, counts per
  /// class) and held there until every subscriber's socket has taken it. When a class is out of
  /// slots the publisher waits (FeedStats::store_waits) while sends free slots; a holder that
  /// frees none for write_deadline is cut as a slow consumer. The slabs are mapped at start
  /// and their pages become resident as they are used (PoolConfig::footprint() is the most).
  /// Messages above 16 KiB: with one worker the ring allocator (store_ring bytes) first, then
  /// the heap (xxl_enabled, xxl_slots live at once, up to xxl_max_bytes each); with several
  /// workers the heap only (a ring-allocator buffer cannot be released from another thread).
  /// start() refuses a store that cannot hold a message of max_payload bytes.
  PoolConfig store_pools = default_store_pools();
  /// Bytes of the ring allocator for messages above 16 KiB with one worker; 0: none.
  std::size_t store_ring = std::size_t{16} << 20U;
  /// The server_id / server_name announced in INFO.
  std::string server_name = "ringkit-feed";
  /// One line per connection closed for a reason worth knowing (a protocol error with its
  /// -ERR text, a slow consumer, a socket error, a rejected connection); runs on a worker
  /// thread, must not call stop().
  std::function<void(std::string_view)> log{};
};

/// A snapshot of the counters.
struct FeedStats {
  std::uint64_t connections = 0;        ///< connections accepted
  std::uint64_t active = 0;             ///< connections open now
  std::uint64_t rejected = 0;           ///< connections closed at once (max_conns)
  std::uint64_t published = 0;          ///< PUB messages accepted
  std::uint64_t delivered = 0;          ///< MSG deliveries queued to subscribers
  std::uint64_t bytes_in = 0;           ///< bytes received
  std::uint64_t bytes_out = 0;          ///< bytes sent
  std::uint64_t subscriptions = 0;      ///< subscriptions open now
  std::uint64_t protocol_errors = 0;    ///< connections closed with -ERR for a protocol error
  std::uint64_t slow_consumers = 0;     ///< connections closed as slow consumers
  std::uint64_t stale_connections = 0;  ///< connections closed for unanswered PINGs
  std::uint64_t io_errors = 0;          ///< connections closed on a socket error
  std::uint64_t store_waits = 0;        ///< times a publisher waited for message-store space
  std::uint64_t forwarded = 0;          ///< messages handed to another worker
  std::uint64_t publisher_waits = 0;    ///< times a publisher paused for a congested subscriber
  /// Accepts that failed (EMFILE, ENFILE, ENOMEM, ...; logged once per streak, retried every
  /// 100 ms). max_conns is fitted to the descriptor limit at start, so this stays 0 unless
  /// something else in the process takes the descriptors.
  std::uint64_t accept_errors = 0;
  /// Gauges, as of each worker's last loop iteration: bytes queued on all connections and not
  /// yet taken by their sockets, and messages those queues hold (each once per worker).
  std::uint64_t queued_bytes = 0;
  std::uint64_t held_messages = 0;
};

/// The feed server (see the file comment).
class FeedServer {
 public:
  FeedServer(const FeedServer&) = delete;
  FeedServer& operator=(const FeedServer&) = delete;
  FeedServer(FeedServer&&) = delete;
  FeedServer& operator=(FeedServer&&) = delete;
  /// stop().
  ~FeedServer();

  /// Binds (SO_REUSEPORT, one listener per worker) and starts the workers. Errors:
  /// Errc::invalid_argument with the option named (threads, max_payload, max_control_line,
  /// max_conns, max_pending, out_ring, store_pools, store_ring), bind/listen errno, io_uring setup,
  /// Errc::unsupported (built without io_uring).
  [[nodiscard]] static Result<std::unique_ptr<FeedServer>> start(const FeedOptions& options);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The connection limit in effect: FeedOptions::max_conns, or less when the descriptor limit
  /// at start (RLIMIT_NOFILE, less the descriptors open and a reserve of 64 plus 8 per worker)
  /// cannot hold one descriptor for each (with a log line).
  [[nodiscard]] std::size_t max_conns() const noexcept;
  [[nodiscard]] FeedStats stats() const noexcept;
  /// Stops accepting, closes every connection, joins the workers. Idempotent.
  void stop();

  struct Shared;  ///< internal: options, counters and the workers' mailboxes

 private:
  FeedServer() = default;
  std::uint16_t port_ = 0;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
};

}  // namespace ringkit::net
