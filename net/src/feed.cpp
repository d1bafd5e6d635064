// FeedServer: NATS-protocol fan-out on io_uring workers (ringkit/net/feed.hpp).
//
// Per worker: one SO_REUSEPORT listener, one io::Uring, a MessageStore, the subject index of
// its own connections' subscriptions and an MPSC inbox (EventTokens from the other workers,
// with an eventfd to wake the loop). Per connection: an io::FramedReader over a mirrored input
// ring decoding with NatsDecoder (view mode: control lines are parsed in place, payloads are
// copied once into the store), and an output ring for MSG headers and replies plus a queue of
// (header bytes, message) entries that leaves in gathered sendmsg calls built straight from
// the ring and the stored messages. Connections are destroyed only between run_once() calls
// (in flush()), never inside a handler.
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ringkit/channel.hpp>
#include <ringkit/event_pool.hpp>
#include <ringkit/message_store.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/feed.hpp>
#include <ringkit/net/nats.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>
#include <ringkit/version.hpp>

#include "fd_budget.hpp"
#include "uring_acceptor.hpp"

#ifdef RINGKIT_HAS_URING
#include <ringkit/io/framed_reader.hpp>
#include <ringkit/io/uring.hpp>
#endif

namespace ringkit::net {

/// A message handed to another worker: the reference travels in the token. `group` 0: for the
/// worker's plain subscriptions; else for one member of that queue group there (picked by the
/// publishing worker, see Interest).
struct Forward {
  EventToken token;
  std::uint32_t group = 0;
  std::array<std::uint32_t, 3> pad{};  // a channel element's size divides 4096: 32 bytes
};
static_assert(ring_element<Forward> && sizeof(Forward) == 32);

/// One worker's mailbox: its inbox channel's consumer is taken by the worker; the other
/// workers push through their own producer handles and write the eventfd once per batch.
struct Mailbox {
  UniqueFd wake;                                // eventfd
  std::atomic<std::uint64_t> subs{0};           // subscriptions on this worker (a forwarding hint)
  std::atomic<std::uint64_t> queued_bytes{0};   // gauge: bytes queued on its connections
  std::atomic<std::uint64_t> held_messages{0};  // gauge: messages its queues hold
  std::unique_ptr<MpscConsumer<Forward>> inbox;
  std::vector<MpscProducer<Forward>> producers;  // one per sending worker (index = sender)
};

/// The interest of every worker, for what one worker cannot see alone: the queue groups (SUB
/// subject queue sid) with how many members each worker has, so that the worker where a message
/// is published picks, per matching group, the one worker that delivers it (weighted by its
/// members), and that worker picks one of its members; and, with several workers, the plain
/// subscriptions' subjects per worker, so that a request nobody anywhere subscribes to gets
/// its no-responders answer. Changed under the mutex on SUB/UNSUB/close; `version` tells the
/// workers' caches to rebuild.
struct Interest {
  struct Group {
    std::string subject;  // may hold wildcards
    std::uint32_t id = 0;
    std::vector<std::uint32_t> members;  // per worker
    std::uint64_t total = 0;
  };
  std::mutex m;
  std::unordered_map<std::string, Group> groups;  // by subject + ' ' + queue
  std::uint32_t next_id = 1;
  /// Plain subscriptions per worker, by subject: literal subjects by hash, wildcard ones apart
  /// (kept only with several workers).
  std::unordered_map<std::string, std::vector<std::uint32_t>> literal, wildcard;
  std::atomic<std::uint64_t> version{0};  // (Q1) release on change, (Q2) acquire by readers
  std::atomic<std::uint64_t> live{0};     // groups with members (0: no lookup on publish)

  static std::string key(std::string_view subject, std::string_view queue) {
    std::string k(subject);
    k.push_back(' ');
    k.append(queue);
    return k;
  }
  /// One more member on `worker` (of `workers`); the group's id.
  std::uint32_t join(std::string_view subject, std::string_view queue, std::size_t worker,
                     std::size_t workers) {
    const std::lock_guard<std::mutex> lock(m);
    Group& g = groups[key(subject, queue)];
    if (g.id == 0) {
      g.subject.assign(subject);
      g.id = next_id++;
      g.members.assign(workers, 0);
      live.fetch_add(1, std::memory_order_relaxed);
    }
    ++g.members[worker];
    ++g.total;
    version.fetch_add(1, std::memory_order_release);  // (Q1)
    return g.id;
  }
  void leave(std::string_view subject, std::string_view queue, std::size_t worker) {
    const std::lock_guard<std::mutex> lock(m);
    auto it = groups.find(key(subject, queue));
    if (it == groups.end() || it->second.members[worker] == 0) return;
    --it->second.members[worker];
    if (--it->second.total == 0) {
      groups.erase(it);
      live.fetch_sub(1, std::memory_order_relaxed);
    }
    version.fetch_add(1, std::memory_order_release);  // (Q1)
  }
  /// A plain subscription to `subject` on `worker` (of `workers`) came (+1) or went (-1).
  void plain(const std::string& subject, bool wild, std::size_t worker, std::size_t workers,
             int delta) {
    const std::lock_guard<std::mutex> lock(m);
    auto& map = wild ? wildcard : literal;
    std::vector<std::uint32_t>& per = map[subject];
    per.resize(workers, 0);
    if (delta > 0) {
      ++per[worker];
    } else if (per[worker] > 0) {
      --per[worker];
    }
    if (std::all_of(per.begin(), per.end(), [](std::uint32_t n) { return n == 0; })) {
      map.erase(subject);
    }
    version.fetch_add(1, std::memory_order_release);  // (Q1)
  }
  /// Whether a worker other than `self` has a plain subscription matching `subject` (under m).
  [[nodiscard]] bool plain_elsewhere(std::string_view subject, std::size_t self) const {
    auto elsewhere = [self](const std::vector<std::uint32_t>& per) {
      for (std::size_t w = 0; w < per.size(); ++w) {
        if (w != self && per[w] > 0) return true;
      }
      return false;
    };
    if (auto it = literal.find(std::string(subject));
        it != literal.end() && elsewhere(it->second)) {
      return true;
    }
    for (const auto& [pattern, per] : wildcard) {
      if (subject_matches(pattern, subject) && elsewhere(per)) return true;
    }
    return false;
  }
};

struct FeedServer::Shared {
  FeedOptions options;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> open{0};  // connections open now (the max_conns check)
  std::atomic<std::uint64_t> connections{0}, rejected{0}, published{0}, delivered{0};
  std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0}, subscriptions{0}, protocol_errors{0};
  std::atomic<std::uint64_t> slow_consumers{0}, io_errors{0}, store_waits{0}, forwarded{0};
  std::atomic<std::uint64_t> publisher_waits{0}, accept_errors{0}, stale_connections{0};
  /// Open connections from which workers accept one connection at a time (fd_budget.hpp).
  std::size_t multishot_accept_below = SIZE_MAX;
  std::vector<std::unique_ptr<Mailbox>> boxes;
  Interest interest;
};

namespace {

using Shared = FeedServer::Shared;
using Clock = std::chrono::steady_clock;
constexpr int kListenBacklog = 4096;

/// (C1) relaxed: statistics order nothing; stats() reads a snapshot with (C2).
void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);  // (C1)
}
void drop(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.fetch_sub(n, std::memory_order_relaxed);  // (C1)
}

// ---- the stored message ------------------------------------------------------------------
// [u16 subject length][u16 reply length][u32 header length][subject][reply][payload]["\r\n"]:
// one copy of the published message, from which every subscriber's MSG (or HMSG) header is made
// and whose payload (with its CRLF; an HPUB's payload starts with its headers) leaves as one
// iovec.
constexpr std::size_t kMsgPrefix = 8;

struct StoredView {
  std::string_view subject;
  std::string_view reply;
  std::span<const std::byte> payload_crlf;  // payload + "\r\n"
  std::size_t header = 0;                   // bytes of the payload that are headers (HPUB)
};

[[nodiscard]] StoredView view_of(const MessageRef& m) noexcept {
  const std::byte* p = m.data();
  const auto sl = static_cast<std::size_t>(std::to_integer<unsigned>(p[0]) |
                                           (std::to_integer<unsigned>(p[1]) << 8U));
  const auto rl = static_cast<std::size_t>(std::to_integer<unsigned>(p[2]) |
                                           (std::to_integer<unsigned>(p[3]) << 8U));
  const auto* chars = reinterpret_cast<const char*>(p + kMsgPrefix);  // NOLINT(*-reinterpret-cast)
  StoredView v;
  v.subject = std::string_view(chars, sl);
  v.reply = std::string_view(chars + sl, rl);
  v.payload_crlf = m.bytes().subspan(kMsgPrefix + sl + rl);
  std::uint32_t hl = 0;
  std::memcpy(&hl, p + 4, sizeof hl);
  v.header = hl;
  return v;
}

[[nodiscard]] std::string_view as_chars(std::span<const std::byte> s) noexcept {
  return {reinterpret_cast<const char*>(s.data()), s.size()};  // NOLINT(*-reinterpret-cast)
}

/// Reads a boolean member of a flat JSON object ("verbose":true); `absent` when missing.
[[nodiscard]] bool json_flag(std::string_view json, std::string_view key, bool absent) noexcept {
  std::size_t at = 0;
  while ((at = json.find(key, at)) != std::string_view::npos) {
    const bool quoted = at > 0 && json[at - 1] == '"' && at + key.size() < json.size() &&
                        json[at + key.size()] == '"';
    at += key.size();
    if (!quoted) continue;
    std::size_t i = at + 1;
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t')) ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t')) ++i;
    return json.substr(i, 4) == "true";
  }
  return absent;
}

/// The address of a connected socket's peer, without the port ("127.0.0.1", "::1"; "" when
/// unknown).
[[nodiscard]] std::string peer_ip(int fd) {
  const auto a = peer_address(fd);
  return a ? a->host() : std::string();
}

/// The next power of two >= n (n >= 1).
[[nodiscard]] std::size_t pow2_at_least(std::size_t n) noexcept {
  std::size_t p = 1;
  while (p < n) p <<= 1U;
  return p;
}

#ifdef RINGKIT_HAS_URING

class Worker;
struct Conn;

/// One subscription of one connection.
struct Sub {
  Conn* conn = nullptr;
  std::string subject;
  std::string sid;
  std::string queue;        // a queue group's name, or empty
  std::uint32_t group = 0;  // the queue group's id (Interest), 0: a plain subscription
  std::uint64_t max = 0;    // 0: unlimited
  std::uint64_t delivered = 0;
  bool wildcard = false;
  bool dead = false;  // unsubscribed or auto-unsubscribed; removed after the current delivery
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// Subscriptions of one worker by subject: literal subjects in a hash map, wildcard ones in a
/// list, and a cache of the wildcard-inclusive result per published subject (cleared by any
/// change), so a steady feed costs one hash lookup per message.
class SubjectIndex {
 public:
  void add(Sub* s) {
    if (s->wildcard) {
      wild_.push_back(s);
    } else {
      literal_[s->subject].push_back(s);
    }
    cache_.clear();
    last_ = nullptr;
  }
  void remove(Sub* s) {
    if (s->wildcard) {
      std::erase(wild_, s);
    } else if (auto it = literal_.find(s->subject); it != literal_.end()) {
      std::erase(it->second, s);
      if (it->second.empty()) literal_.erase(it);
    }
    cache_.clear();
    last_ = nullptr;
  }
  /// The subscriptions matching `subject`; valid until the next add()/remove(). A feed
  /// usually publishes runs on one subject: the last answer is kept and reused without a hash.
  const std::vector<Sub*>& match(std::string_view subject) {
    if (last_ != nullptr && subject == last_subject_) return *last_;
    last_ = &lookup(subject);
    last_subject_.assign(subject);
    return *last_;
  }

 private:
  const std::vector<Sub*>& lookup(std::string_view subject) {
    if (wild_.empty()) {
      auto it = literal_.find(subject);
      return it == literal_.end() ? none_ : it->second;
    }
    if (auto it = cache_.find(subject); it != cache_.end()) return it->second;
    if (cache_.size() >= 4096) cache_.clear();
    std::vector<Sub*> r;
    if (auto it = literal_.find(subject); it != literal_.end()) r = it->second;
    for (Sub* s : wild_) {
      if (subject_matches(s->subject, subject)) r.push_back(s);
    }
    return cache_.emplace(std::string(subject), std::move(r)).first->second;
  }

  std::unordered_map<std::string, std::vector<Sub*>, StringHash, std::equal_to<>> literal_;
  std::vector<Sub*> wild_;
  std::unordered_map<std::string, std::vector<Sub*>, StringHash, std::equal_to<>> cache_;
  std::vector<Sub*> none_;
  const std::vector<Sub*>* last_ = nullptr;  // match(last_subject_), until the next change
  std::string last_subject_;
};

constexpr std::uint32_t kNoPin = ~std::uint32_t{0};

/// Messages held by a worker's output queues: ONE MessageRef per message for all the
/// connections that queued it, with a plain (single-threaded) count of those connections, so a
/// fan-out to k subscribers costs no atomic operation per subscriber.
class PinTable {
 public:
  /// A new pin of `m` with no users yet.
  std::uint32_t pin(const MessageRef& m) {
    std::uint32_t i = free_;
    if (i == kNoPin) {
      i = static_cast<std::uint32_t>(pins_.size());
      pins_.emplace_back();
    } else {
      free_ = pins_[i].next_free;
    }
    pins_[i].msg = m;
    pins_[i].users = 0;
    ++in_use_;
    return i;
  }
  void hold(std::uint32_t i) noexcept { ++pins_[i].users; }
  /// Messages pinned now.
  [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
  /// One user fewer; the last one drops the message.
  void release(std::uint32_t i) noexcept {
    if (--pins_[i].users == 0) unpin(i);
  }
  /// Drops a pin nobody took (every delivery of the message failed).
  void release_if_unused(std::uint32_t i) noexcept {
    if (pins_[i].users == 0) unpin(i);
  }

 private:
  struct Pin {
    MessageRef msg;
    std::uint32_t users = 0;
    std::uint32_t next_free = kNoPin;
  };
  void unpin(std::uint32_t i) noexcept {
    pins_[i].msg.reset();
    pins_[i].next_free = free_;
    free_ = i;
    --in_use_;
  }
  std::vector<Pin> pins_;
  std::uint32_t free_ = kNoPin;
  std::size_t in_use_ = 0;
};

/// What waits to be sent on a connection: `header` bytes of its output ring, then (when `pin`
/// is not kNoPin) the `body` bytes of a pinned message.
struct OutEntry {
  std::size_t header = 0;
  std::uint32_t pin = kNoPin;
  std::span<const std::byte> body;
};

/// A FIFO of OutEntry in a power-of-two vector (no allocation in steady state).
class OutQueue {
 public:
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  OutEntry& operator[](std::size_t i) noexcept { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  OutEntry& back() noexcept { return (*this)[size_ - 1]; }
  OutEntry& front() noexcept { return (*this)[0]; }
  void push_back(const OutEntry& e) {
    if (size_ == buf_.size()) grow();
    (*this)[size_] = e;
    ++size_;
  }
  void pop_front() noexcept {
    head_ = (head_ + 1) & (buf_.size() - 1);
    --size_;
  }
  void clear() noexcept {
    head_ = 0;
    size_ = 0;
  }

 private:
  void grow() {
    std::vector<OutEntry> n(buf_.empty() ? 16 : buf_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) n[i] = (*this)[i];
    buf_ = std::move(n);
    head_ = 0;
  }
  std::vector<OutEntry> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

/// Most iovecs in one gathered send.
constexpr std::size_t kMaxIov = 512;

/// One client connection.
struct Conn {
  Conn(Worker& w, UniqueFd f, MirrorByteRing in, MirrorByteRing o, const NatsDecoder& proto);
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  Conn(Conn&&) = delete;
  Conn& operator=(Conn&&) = delete;
  ~Conn() = default;

  io::FrameAction on_frame(const io::Frame& f) noexcept;
  void on_end(Errc e) noexcept;

  Worker* worker;
  UniqueFd fd;
  NatsDecoder decoder;
  MirrorByteRing out;
  io::FramedReader<MirrorByteRing, NatsDecoder, Conn> reader;
  OutQueue queue;
  std::size_t front_sent = 0;  // bytes of queue.front() already sent
  std::size_t pending = 0;     // bytes queued and not yet sent
  std::vector<iovec> iov;      // the send in flight
  std::unordered_map<std::string, std::unique_ptr<Sub>, StringHash, std::equal_to<>> subs;
  std::string pub_subject;  // the PUB whose payload is expected
  std::string pub_reply;
  std::uint64_t client_id = 0;
  std::string client_ip;  // the peer's address, announced in INFO
  bool in_payload = false;
  std::size_t pub_header = 0;  // HPUB: bytes of the expected payload that are headers
  bool pub_valid = true;       // the expected payload's PUB subject passed the pedantic check
  bool verbose = true;         // nats-server's defaults until CONNECT says otherwise
  bool pedantic = true;
  bool headers = false;        // CONNECT "headers":true: HPUB accepted, HMSG delivered
  bool no_responders = false;  // CONNECT "no_responders":true: a request nobody takes gets 503
  bool echo = true;            // CONNECT "echo":false: its own subscriptions get none of its PUBs
  bool sending = false;
  bool marked = false;
  bool closing = false;    // close once the queue has left (after an -ERR)
  bool congested = false;  // more than max_pending / 2 queued: the worker's publishers wait
  std::chrono::steady_clock::time_point progress{};   // last send completion (or congestion start)
  std::chrono::steady_clock::time_point last_in{};    // last bytes received (the loop's clock)
  std::chrono::steady_clock::time_point next_ping{};  // when the keep-alive looks at it next
  unsigned pings_out = 0;                             // PINGs sent and not answered
  bool done = false;                                  // no more traffic: destroy once idle
};

class Worker {
 public:
  Worker(Shared& sh, std::size_t index, UniqueFd lis, NatsDecoder proto, MessageStore store)
      : sh_(sh),
        index_(index),
        acceptor_(*this, uring_, std::move(lis)),
        proto_(proto),
        store_(std::move(store)) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  Worker(Worker&&) = delete;
  Worker& operator=(Worker&&) = delete;
  /// Adopts the tokens that were never pushed (each carries a slot reference).
  ~Worker() {
    for (auto& q : overflow_) {
      for (const Forward& f : q) (void)EventRef::from_token(f.token);
    }
  }

  Result<void> init_on_thread() {
    auto ring = io::Uring::create(
        {.entries = 1024, .single_issuer = true, .max_ops = 65536, .defer_taskrun = true});
    if (!ring) return unexpected(ring.error(), ring.context());
    uring_ = std::move(*ring);
    Mailbox& box = *sh_.boxes[index_];
    inbox_ = box.inbox.get();
    for (std::size_t d = 0; d < sh_.boxes.size(); ++d) {
      if (d == index_) {
        outbox_.emplace_back();
      } else {
        outbox_.push_back(std::move(sh_.boxes[d]->producers[index_]));
      }
    }
    overflow_.resize(sh_.boxes.size());
    pushed_.assign(sh_.boxes.size(), false);
    return {};
  }

  void run() {
    acceptor_.arm();
    if (sh_.boxes.size() > 1) arm_wake();
    while (!sh_.stopping.load(std::memory_order_acquire)) {  // (A1) pairs with (R1) in stop()
      const bool retry = !store_waiters_.empty() || forward_backlog_ > 0;
      const auto wait = retry            ? std::chrono::milliseconds(1)
                        : congested_ > 0 ? std::chrono::milliseconds(10)
                                         : std::chrono::milliseconds(50);
      if (!uring_.run_once(wait)) break;
      now_ = Clock::now();
      if (!acceptor_.live() && now_ >= accept_retry_at_) acceptor_.arm();
      drain_inbox();
      if (congested_ > 0) cut_stalled();
      if (ping_on() && now_ >= next_ping_scan_) keep_alive();
      flush();
    }
    acceptor_.close();
    for (auto& c : conns_) close_now(*c);
    for (int i = 0; i < 200 && !conns_.empty(); ++i) {
      if (!uring_.run_once(std::chrono::milliseconds(10))) break;
      flush();
    }
    for (auto& c : conns_) forget_subs(*c);
    publish_counters();
  }

  // ---- used by Conn ------------------------------------------------------------------------

  /// A control line from `c`; false when the connection ends (answered and closing).
  bool on_line(Conn& c, std::string_view line) {
    NatsCommand cmd;
    const NatsError err = parse_control_line(line, cmd);
    if (err != NatsError::none) {
      if (!closes_connection(err)) {
        reply_error(c, err);
        ok(c);  // nats-server still acknowledges the operation in verbose mode
        return true;
      }
      return protocol_error(c, err);
    }
    if (line.size() > sh_.options.max_control_line &&
        (cmd.op == NatsOp::pub || cmd.op == NatsOp::sub || cmd.op == NatsOp::unsub) &&
        argument_bytes(line) > sh_.options.max_control_line) {
      return protocol_error(c, NatsError::max_control_line);
    }
    switch (cmd.op) {
      case NatsOp::ping:
        reply(c, "PONG\r\n");
        return true;
      case NatsOp::pong:
        c.pings_out = 0;
        return true;
      case NatsOp::ignored:
        return true;
      case NatsOp::connect:
        // Absent options keep nats-server's defaults: verbose and pedantic on.
        c.verbose = json_flag(cmd.json, "verbose", true);
        c.pedantic = json_flag(cmd.json, "pedantic", true);
        c.headers = json_flag(cmd.json, "headers", false);
        c.no_responders = json_flag(cmd.json, "no_responders", false);
        c.echo = json_flag(cmd.json, "echo", true);
        if (c.no_responders && !c.headers) {
          return protocol_error(c, NatsError::no_responders_needs_headers);  // as nats-server
        }
        ok(c);
        return true;
      case NatsOp::hpub:
        if (!c.headers) return protocol_error(c, NatsError::headers);  // as nats-server
        [[fallthrough]];
      case NatsOp::pub:
        if (cmd.size > sh_.options.max_payload) return protocol_error(c, NatsError::max_payload);
        if (cmd.subject.size() > 0xffff || cmd.reply.size() > 0xffff) {
          return protocol_error(c, NatsError::max_control_line);
        }
        c.pub_subject.assign(cmd.subject);
        c.pub_reply.assign(cmd.reply);
        c.pub_header = static_cast<std::size_t>(cmd.header_size);
        c.pub_valid = !c.pedantic || valid_subject(cmd.subject, false);
        if (!c.pub_valid) reply_error(c, NatsError::invalid_publish_subject);  // payload dropped
        if (c.decoder.expect_payload(cmd.size) != Errc::ok) {
          return protocol_error(c, NatsError::max_payload);
        }
        c.in_payload = true;
        return true;
      case NatsOp::sub:
        subscribe(c, cmd);
        return true;
      case NatsOp::unsub:
        unsubscribe(c, cmd);
        return true;
    }
    return true;
  }

  /// The payload of the PUB `c` announced: one copy into the store, then the fan-out.
  /// FrameAction::pause when the store is exhausted (retried later, in order).
  io::FrameAction on_payload(Conn& c, const ConstSegments& payload) {
    const std::string_view subj = c.pub_subject;
    const std::string_view rep = c.pub_reply;
    if (!c.pub_valid) {
      finish_payload(c);
      ok(c);
      return io::FrameAction::next;  // answered with -ERR at the PUB line; dropped
    }
    if (congested_ > 0 || forward_backlog_ > kForwardBacklog) {
      // A subscriber here, or on a worker whose inbox is full, is behind: wait for it, as
      // nats-server's publisher waits for its flush.
      if (std::find(congestion_waiters_.begin(), congestion_waiters_.end(), &c) ==
          congestion_waiters_.end()) {
        congestion_waiters_.push_back(&c);
      }
      bump(sh_.publisher_waits);
      return io::FrameAction::pause;
    }
    const std::size_t n = payload.bytes();
    const std::size_t total = kMsgPrefix + subj.size() + rep.size() + n + 2;
    Result<MessageWriter> w = store_.allocate(total);
    if (!w) {
      const auto e = static_cast<Errc>(w.error().value());
      if (is_retryable(e) || e == Errc::store_exhausted) {
        bump(sh_.store_waits);
        relieve_store();
        wait_for_store(c);
        return io::FrameAction::pause;
      }
      protocol_error(c, NatsError::max_payload);
      return io::FrameAction::stop;
    }
    store_full_since_ = {};
    std::byte* p = w->writable().data();
    p[0] = static_cast<std::byte>(subj.size() & 0xffU);
    p[1] = static_cast<std::byte>(subj.size() >> 8U);
    p[2] = static_cast<std::byte>(rep.size() & 0xffU);
    p[3] = static_cast<std::byte>(rep.size() >> 8U);
    const auto hl = static_cast<std::uint32_t>(c.pub_header);
    std::memcpy(p + 4, &hl, sizeof hl);
    std::memcpy(p + kMsgPrefix, subj.data(), subj.size());
    std::memcpy(p + kMsgPrefix + subj.size(), rep.data(), rep.size());
    std::byte* body = p + kMsgPrefix + subj.size() + rep.size();
    std::size_t at = 0;
    for (const std::span<const std::byte> part : payload) {
      std::memcpy(body + at, part.data(), part.size());
      at += part.size();
    }
    body[n] = std::byte{'\r'};
    body[n + 1] = std::byte{'\n'};
    Result<MessageRef> m = std::move(*w).publish(total);
    finish_payload(c);
    if (!m) return io::FrameAction::next;  // cannot happen: total == the size allocated
    ++local_.published;
    ok(c);
    const bool matched = route(*m, true, 0, c.echo ? nullptr : &c);
    if (!matched && !rep.empty() && c.no_responders &&
        (sh_.boxes.size() == 1 || !reach(subj).plain_elsewhere)) {
      no_responders(c, rep);
    }
    return io::FrameAction::next;
  }

  void on_end(Conn& c, Errc e) {
    if (c.done) return;
    if (e == Errc::delimiter_not_found || e == Errc::buffered_limit) {
      // A line without its end past the limit: nats-server names the limit for an operation
      // that collects arguments, and the operation otherwise.
      const std::string_view head = as_chars(c.reader.ring().reader.readable());
      NatsCommand cmd;
      const NatsError pe = parse_control_line(head.substr(0, head.find_first_of(" \t") + 1), cmd);
      protocol_error(c, pe == NatsError::unknown_operation ? pe : NatsError::max_control_line);
    } else if (e == Errc::protocol_error || e == Errc::bare_carriage_return) {
      protocol_error(c, NatsError::unknown_operation);
    } else {
      if (e != Errc::ok && e != Errc::truncated && e != Errc::closed) {
        bump(sh_.io_errors);
        log(c, std::string("stream error: ") + describe(e) + ", closing");
      }
      close_now(c);
    }
  }

 private:
  friend struct Conn;

  /// A log line about connection `c` (when the owner asked for logs).
  void log(const Conn& c, std::string_view what) {
    if (!sh_.options.log) return;
    std::string line = "worker ";
    line += std::to_string(index_);
    line += " client ";
    line += std::to_string(c.client_id);
    line += ": ";
    line += what;
    sh_.options.log(line);
  }

  void finish_payload(Conn& c) {
    c.in_payload = false;
    c.decoder.finish_payload();
  }

  void ok(Conn& c) {
    if (c.verbose) reply(c, "+OK\r\n");
  }

  /// Appends protocol text to `c`'s output; a connection that cannot take it is a slow consumer.
  bool reply(Conn& c, std::string_view text) {
    if (c.done || c.closing) return false;
    if (!append_header(c, text)) {
      slow_consumer(c);
      return false;
    }
    if (c.queue.empty() || c.queue.back().pin != kNoPin) {
      c.queue.push_back(OutEntry{text.size(), kNoPin, {}});
    } else {
      c.queue.back().header += text.size();
    }
    c.pending += text.size();
    queued_ += text.size();
    mark(c);
    return true;
  }

  bool append_header(Conn& c, std::string_view text) {
    const std::span<std::byte> w = c.out.writer.writable();
    if (w.size() < text.size()) return false;
    std::memcpy(w.data(), text.data(), text.size());
    (void)c.out.writer.commit(text.size());
    return true;
  }

  void reply_error(Conn& c, NatsError e) {
    std::string t = "-ERR '";
    t += text(e);
    t += "'\r\n";
    (void)reply(c, t);
  }

  /// Answers -ERR and closes the connection once the answer has left (nats-server's way).
  bool protocol_error(Conn& c, NatsError e) {
    if (c.done || c.closing) return false;
    bump(sh_.protocol_errors);
    if (text(e).empty()) {
      log(c, "malformed arguments, closing without an answer (as nats-server)");
    } else {
      log(c, std::string("-ERR '") + std::string(text(e)) + "', closing");
      reply_error(c, e);
    }
    c.closing = true;
    c.reader.stop();
    ::shutdown(c.fd.get(), SHUT_RD);  // the in-flight recv completes; nothing more is read
    mark(c);
    return false;
  }

  /// A request (a PUB with a reply subject) no subscription anywhere took, from a client that
  /// asked for it: nats-server's status message, on the client's own subscription that matches
  /// the reply subject (none: nothing is sent).
  void no_responders(Conn& c, std::string_view reply_subject) {
    for (const auto& [sid, s] : c.subs) {
      if (s->dead || !subject_matches(s->subject, reply_subject)) continue;
      std::string t = "HMSG ";
      t.append(reply_subject);
      t.push_back(' ');
      t.append(sid);
      t.append(" 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
      (void)reply(c, t);
      return;
    }
  }

  void slow_consumer(Conn& c) {
    if (c.done) return;
    bump(sh_.slow_consumers);
    log(c, "slow consumer (" + std::to_string(c.pending) + " bytes pending), closing");
    last_words_and_close(c, "-ERR 'Slow Consumer'\r\n");
  }

  /// Closes `c` now, with `text` sent first if the socket takes it at once. Best effort, like
  /// nats-server: the text goes out only if nothing half-sent precedes it, and a peer that
  /// reads nothing cannot keep the connection open by not taking it.
  void last_words_and_close(Conn& c, std::string_view text) {
    if (!c.sending && c.front_sent == 0 && c.queue.empty()) {
      (void)::send(c.fd.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close_now(c);
  }

  /// Ends `c` now. Its subscriptions stay in the index (deliveries skip a done connection)
  /// until remove_conn(), so this is safe inside a fan-out loop.
  void close_now(Conn& c) {
    if (c.done) return;
    c.done = true;
    update_congestion(c);
    c.reader.stop();
    c.reader.cancel();
    ::shutdown(c.fd.get(), SHUT_RDWR);
    mark(c);
  }

  void forget_subs(Conn& c) {
    if (c.subs.empty()) return;
    for (auto& [sid, s] : c.subs) index_remove(s.get());
    c.subs.clear();
  }

  void index_remove(Sub* s) {
    if (s->dead) return;
    s->dead = true;
    drop(sh_.subscriptions);
    if (s->group != 0) {
      auto it = members_.find(s->group);
      if (it != members_.end()) {
        std::erase(it->second, s);
        if (it->second.empty()) members_.erase(it);
      }
      sh_.interest.leave(s->subject, s->queue, index_);
      return;
    }
    subs_.remove(s);
    sh_.boxes[index_]->subs.fetch_sub(1, std::memory_order_relaxed);  // (C1) a hint
    if (sh_.boxes.size() > 1) {
      sh_.interest.plain(s->subject, s->wildcard, index_, sh_.boxes.size(), -1);
    }
  }

  void subscribe(Conn& c, const NatsCommand& cmd) {
    if (!valid_subject(cmd.subject, true)) {
      reply_error(c, NatsError::invalid_subject);
      return;
    }
    if (c.subs.find(cmd.sid) != c.subs.end()) {  // a duplicate sid: nats-server keeps the first
      ok(c);
      return;
    }
    auto s = std::make_unique<Sub>();
    s->conn = &c;
    s->subject.assign(cmd.subject);
    s->sid.assign(cmd.sid);
    s->wildcard = has_wildcard(cmd.subject);
    if (!cmd.queue.empty()) {
      // A queue group member: known to every worker through the registry, delivered to by pick.
      s->queue.assign(cmd.queue);
      s->group = sh_.interest.join(s->subject, s->queue, index_, sh_.boxes.size());
      members_[s->group].push_back(s.get());
    } else {
      subs_.add(s.get());
      sh_.boxes[index_]->subs.fetch_add(1, std::memory_order_relaxed);  // (C1) a hint
      if (sh_.boxes.size() > 1) {
        sh_.interest.plain(s->subject, s->wildcard, index_, sh_.boxes.size(), +1);
      }
    }
    c.subs.emplace(s->sid, std::move(s));
    bump(sh_.subscriptions);
    ok(c);
  }

  void unsubscribe(Conn& c, const NatsCommand& cmd) {
    auto it = c.subs.find(cmd.sid);
    if (it != c.subs.end()) {
      Sub& s = *it->second;
      if (cmd.has_max && cmd.max > 0 && s.delivered < cmd.max) {
        s.max = cmd.max;  // auto-unsubscribe once `max` messages were delivered in all
      } else {
        index_remove(&s);
        c.subs.erase(it);
      }
    }
    ok(c);
  }

  /// Delivers `m` to the matching subscriptions of this worker and, when it was published
  /// here, hands it to every other worker that has subscriptions, and to one member of each
  /// matching queue group (here or on the worker picked for it). `group` != 0: `m` was
  /// forwarded for one member of that queue group only. True when a subscription here or a
  /// queue group matched (the others' plain subscriptions are not looked at). `skip`: the
  /// publisher, when its CONNECT said "echo":false (its own subscriptions get nothing of it).
  bool route(const MessageRef& m, bool local_origin, std::uint32_t group = 0,
             const Conn* skip = nullptr) {
    const StoredView v = view_of(m);
    const std::size_t size = v.payload_crlf.size() - 2;
    std::uint32_t pin = kNoPin;
    if (group != 0) {
      deliver_to_group(group, m, v, size, pin, nullptr);
      if (pin != kNoPin) pins_.release_if_unused(pin);
      return true;
    }
    const std::vector<Sub*>& match = subs_.match(v.subject);
    bool expired = false;
    bool matched = false;
    if (!match.empty()) build_header(v, size);
    for (Sub* s : match) {
      if (s->dead || s->conn == skip) continue;
      matched = true;
      if (s->conn->done || s->conn->closing) continue;
      deliver(*s->conn, *s, m, v, pin);
      if (s->max != 0 && s->delivered >= s->max) expired = true;
    }
    if (local_origin && sh_.interest.live.load(std::memory_order_relaxed) > 0) {
      matched = pick_groups(m, v, size, pin, skip) || matched;
    }
    if (pin != kNoPin) pins_.release_if_unused(pin);
    if (expired) {  // auto-unsubscribed (UNSUB sid max): removed after the loop
      std::vector<Sub*> gone;
      for (Sub* s : match) {
        if (!s->dead && s->max != 0 && s->delivered >= s->max) gone.push_back(s);
      }
      for (Sub* s : gone) {
        Conn& c = *s->conn;
        index_remove(s);
        c.subs.erase(s->sid);
      }
    }
    if (local_origin && sh_.boxes.size() > 1) forward(m);
    return matched;
  }

  /// Every subscriber's header is head + its sid + tail: "MSG <subject> " + sid + " [reply]
  /// <#body>\r\n", or for a subscriber that negotiated headers and a message that has some,
  /// "HMSG <subject> " + sid + " [reply] <#headers> <#total>\r\n" (nats-server strips the
  /// headers for the others). Built once per message (and kept while a publisher sends a run of
  /// messages with the same subject, reply and sizes).
  void build_header(const StoredView& v, std::size_t size) {
    if (same_header(v, size)) return;
    hdr_reply_.assign(v.reply);
    hdr_size_ = size;
    hdr_header_ = v.header;
    auto build = [&](std::string& head, std::string& tail, std::string_view op,
                     std::initializer_list<std::size_t> sizes) {
      head.assign(op);
      head.append(v.subject);
      head.push_back(' ');
      tail.clear();
      if (!v.reply.empty()) {
        tail.push_back(' ');
        tail.append(v.reply);
      }
      for (const std::size_t n : sizes) {
        std::array<char, 24> num{};
        const auto [end, ec] = std::to_chars(num.data(), num.data() + num.size(), n);
        tail.push_back(' ');
        tail.append(num.data(), end);
      }
      tail.append("\r\n");
    };
    build(head_, tail_, "MSG ", {size - v.header});
    if (v.header > 0) build(hhead_, htail_, "HMSG ", {v.header, size});
  }

  /// One queue group's pick for a message published here: which worker delivers it
  /// (weighted by the members each has; the registry's counts as this worker's cache has them).
  struct Pick {
    std::uint32_t group = 0;
    std::vector<std::uint32_t> weights;  // members per worker
    std::uint64_t total = 0;
  };

  /// What the other workers hold for a subject: the matching queue groups, and whether a
  /// plain subscription elsewhere matches it.
  struct Reach {
    std::vector<Pick> groups;
    bool plain_elsewhere = false;
  };

  /// The shared interest in `subject`, from a cache rebuilt after any change to the registry.
  const Reach& reach(std::string_view subject) {
    const std::uint64_t ver = sh_.interest.version.load(std::memory_order_acquire);  // (Q2)
    if (ver != reach_version_ || reach_.size() >= 4096) {
      reach_.clear();
      reach_version_ = ver;
    }
    if (auto it = reach_.find(subject); it != reach_.end()) return it->second;
    Reach r;
    {
      const std::lock_guard<std::mutex> lock(sh_.interest.m);
      for (const auto& [key, g] : sh_.interest.groups) {
        if (subject_matches(g.subject, subject)) r.groups.push_back(Pick{g.id, g.members, g.total});
      }
      r.plain_elsewhere = sh_.interest.plain_elsewhere(subject, index_);
    }
    return reach_.emplace(std::string(subject), std::move(r)).first->second;
  }

  /// Picks one member of each queue group matching `v`'s subject; false if none matches.
  bool pick_groups(const MessageRef& m, const StoredView& v, std::size_t size, std::uint32_t& pin,
                   const Conn* skip) {
    const std::vector<Pick>& picks = reach(v.subject).groups;
    for (const Pick& p : picks) {
      if (p.total == 0) continue;
      std::uint64_t r = next_random() % p.total;
      std::size_t w = 0;
      while (w + 1 < p.weights.size() && r >= p.weights[w]) r -= p.weights[w++];
      if (w == index_) {
        deliver_to_group(p.group, m, v, size, pin, skip);
      } else {
        forward_to(w, m, p.group);
      }
    }
    return !picks.empty();
  }

  /// Delivers `m` to one live member of queue group `group` on this worker, picked at random
  /// (none: the last one left since the pick, and the message is dropped for that group, as a
  /// message to a subject nobody subscribes to).
  void deliver_to_group(std::uint32_t group, const MessageRef& m, const StoredView& v,
                        std::size_t size, std::uint32_t& pin, const Conn* skip) {
    auto it = members_.find(group);
    if (it == members_.end()) return;
    const std::vector<Sub*>& list = it->second;
    const std::size_t n = list.size();
    std::size_t k = static_cast<std::size_t>(next_random() % n);
    for (std::size_t i = 0; i < n; ++i, k = (k + 1) % n) {
      Sub* s = list[k];
      if (s->dead || s->conn == skip || s->conn->done || s->conn->closing) continue;
      build_header(v, size);
      deliver(*s->conn, *s, m, v, pin);
      if (s->max != 0 && s->delivered >= s->max) {  // auto-unsubscribed: `list` changes here
        Conn& c = *s->conn;
        index_remove(s);
        c.subs.erase(s->sid);
      }
      return;
    }
  }

  /// xorshift64*: the queue groups' picks (uniform enough, and no shared state).
  std::uint64_t next_random() noexcept {
    rng_ ^= rng_ >> 12U;
    rng_ ^= rng_ << 25U;
    rng_ ^= rng_ >> 27U;
    return rng_ * 0x2545F4914F6CDD1DULL;
  }

  /// True when head_ and tail_ already hold the header parts for `v` with `size` bytes.
  [[nodiscard]] bool same_header(const StoredView& v, std::size_t size) const noexcept {
    return size == hdr_size_ && v.header == hdr_header_ && head_.size() == v.subject.size() + 5 &&
           std::string_view(head_).substr(4, v.subject.size()) == v.subject &&
           v.reply == hdr_reply_;
  }

  void deliver(Conn& c, Sub& s, const MessageRef& m, const StoredView& v, std::uint32_t& pin) {
    // head + sid + tail (see build_header()); the body leaves from the stored message.
    const bool hmsg = v.header > 0 && c.headers;
    const std::string& head = hmsg ? hhead_ : head_;
    const std::string& tail = hmsg ? htail_ : tail_;
    const std::span<const std::byte> body =
        hmsg ? v.payload_crlf : v.payload_crlf.subspan(v.header);
    const std::size_t hlen = head.size() + s.sid.size() + tail.size();
    if (c.pending + hlen + body.size() > sh_.options.max_pending) {
      slow_consumer(c);
      return;
    }
    const std::span<std::byte> w = c.out.writer.writable();
    if (w.size() < hlen) {
      slow_consumer(c);
      return;
    }
    std::byte* p = w.data();
    std::memcpy(p, head.data(), head.size());
    std::memcpy(p + head.size(), s.sid.data(), s.sid.size());
    std::memcpy(p + head.size() + s.sid.size(), tail.data(), tail.size());
    (void)c.out.writer.commit(hlen);
    if (pin == kNoPin) pin = pins_.pin(m);  // the first delivery of this message here
    pins_.hold(pin);
    if (c.queue.empty() || c.queue.back().pin != kNoPin) {
      c.queue.push_back(OutEntry{hlen, pin, body});
    } else {
      OutEntry& e = c.queue.back();  // replies queued before: the header follows them
      e.header += hlen;
      e.pin = pin;
      e.body = body;
    }
    c.pending += hlen + body.size();
    queued_ += hlen + body.size();
    update_congestion(c);
    ++s.delivered;
    ++local_.delivered;
    mark(c);
  }

  // ---- other workers -----------------------------------------------------------------------

  void forward(const MessageRef& m) {
    for (std::size_t d = 0; d < sh_.boxes.size(); ++d) {
      if (d == index_) continue;
      if (sh_.boxes[d]->subs.load(std::memory_order_relaxed) == 0) continue;  // (C1) a hint
      forward_to(d, m, 0);
    }
  }

  /// Hands `m` to worker `d`: for its plain subscriptions (`group` 0) or for one member of
  /// queue group `group` there.
  void forward_to(std::size_t d, const MessageRef& m, std::uint32_t group) {
    const EventRef* ev = m.event();
    if (ev == nullptr) return;  // several workers: every message is an event (see start())
    EventRef copy = *ev;
    overflow_[d].push_back(Forward{std::move(copy).into_token(), group});
    ++forward_backlog_;
    pushed_[d] = true;
    bump(sh_.forwarded);
  }

  /// Pushes what the batch forwarded and wakes the workers it went to.
  void send_forwards() {
    for (std::size_t d = 0; d < overflow_.size(); ++d) {
      if (!pushed_[d]) continue;
      std::vector<Forward>& q = overflow_[d];
      const std::size_t n = outbox_[d].push_slice(std::span<const Forward>(q));
      q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(n));
      forward_backlog_ -= n;
      pushed_[d] = !q.empty();  // the rest goes with the next batch
      if (n > 0) {
        const std::uint64_t one = 1;
        (void)!::write(sh_.boxes[d]->wake.get(), &one, sizeof one);
      }
    }
  }

  void arm_wake() {
    (void)uring_.poll(sh_.boxes[index_]->wake.get(), POLLIN, [this](const io::OpResult& r) {
      if (r.status == io::IoStatus::cancelled) return;
      std::uint64_t v = 0;
      (void)!::read(sh_.boxes[index_]->wake.get(), &v, sizeof v);
      // Now, not after the whole batch: a message forwarded before a later completion here (a
      // subscriber's PING) is queued ahead of its answer, as nats-server orders them.
      drain_inbox();
      // (A2) relaxed hint; the loop's (A1) load is what ends the worker.
      if (!sh_.stopping.load(std::memory_order_relaxed)) arm_wake();
    });
  }

  void drain_inbox() {
    if (inbox_ == nullptr || sh_.boxes.size() < 2) return;
    // Backpressure across workers: while a subscriber here is congested the inbox is left to
    // fill; the senders' backlogs then grow and their publishers pause (on_payload()).
    Forward f{};
    while (congested_ == 0 && inbox_->try_pop(f)) {
      auto ev = EventRef::from_token(f.token);
      if (!ev) continue;
      route(MessageRef(std::move(*ev)), false, f.group);
    }
  }

  // ---- store backpressure --------------------------------------------------------------------

  void wait_for_store(Conn& c) {
    if (std::find(store_waiters_.begin(), store_waiters_.end(), &c) == store_waiters_.end()) {
      store_waiters_.push_back(&c);
    }
  }

  /// The store is exhausted: first backpressure (the publisher waits while the subscribers'
  /// sends free slots, as for a congested subscriber); once no allocation has succeeded for
  /// write_deadline, the connection holding the most queued messages, if it holds a real share
  /// of them, is a slow consumer (nats-server would buffer it up to max_pending; here the slots
  /// it pins stall every publisher). Cutting at the first exhaustion cut healthy subscribers
  /// that were merely behind a publisher's burst (a 4-member queue group under nats.go).
  void relieve_store() {
    if (store_full_since_ == Clock::time_point{}) store_full_since_ = now_;
    if (now_ - store_full_since_ <= sh_.options.write_deadline) return;
    store_full_since_ = now_;  // one cut per deadline
    Conn* worst = nullptr;
    for (auto& c : conns_) {
      if (c->done) continue;
      if (worst == nullptr || c->queue.size() > worst->queue.size()) worst = c.get();
    }
    if (worst != nullptr && worst->queue.size() >= 1024) slow_consumer(*worst);
  }

  // ---- slow consumers ------------------------------------------------------------------------

  /// Tracks whether `c` holds more than half of max_pending, or has its output ring more than
  /// three quarters full (its MSG headers): while any connection does, the
  /// worker's publishers pause before their next message (bounded memory without cutting a
  /// reader that is merely a little slower than the publisher).
  void update_congestion(Conn& c) {
    const bool over = !c.done && (c.pending > sh_.options.max_pending / 2 ||
                                  c.out.writer.writable().size() < sh_.options.out_ring / 4);
    if (over == c.congested) return;
    c.congested = over;
    if (over) {
      ++congested_;
      c.progress = std::chrono::steady_clock::now();
    } else {
      --congested_;
    }
  }

  [[nodiscard]] bool ping_on() const noexcept {
    return sh_.options.ping_interval > std::chrono::milliseconds(0);
  }

  /// The keep-alive (nats-server's ping timer): every connection due for a look that sent
  /// nothing for ping_interval is pinged, or, with max_pings_out PINGs unanswered, closed as
  /// stale. Scans at an eighth of the interval (10 ms .. 1 s), not on every loop iteration.
  void keep_alive() {
    const auto interval = sh_.options.ping_interval;
    next_ping_scan_ =
        now_ + std::clamp<std::chrono::milliseconds>(interval / 8, std::chrono::milliseconds(10),
                                                     std::chrono::milliseconds(1000));
    for (auto& cp : conns_) {
      Conn& c = *cp;
      if (c.done || c.closing || now_ < c.next_ping) continue;
      c.next_ping = now_ + interval;
      if (now_ - c.last_in < interval) continue;  // it spoke lately: alive
      if (c.pings_out + 1 > sh_.options.max_pings_out) {
        bump(sh_.stale_connections);
        log(c, "stale connection (" + std::to_string(c.pings_out) + " PINGs unanswered), closing");
        last_words_and_close(c, "-ERR 'Stale Connection'\r\n");
        continue;
      }
      if (reply(c, "PING\r\n")) ++c.pings_out;
    }
  }

  /// Cuts every congested connection whose socket accepted nothing for write_deadline.
  void cut_stalled() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& c : conns_) {
      if (c->congested && now - c->progress > sh_.options.write_deadline) slow_consumer(*c);
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  void mark(Conn& c) {
    if (c.marked) return;
    c.marked = true;
    marked_.push_back(&c);
  }

  /// After a batch of completions: forwards, resumed publishers, one gathered send per
  /// connection with output, closes, and the destruction of idle finished connections.
  void flush() {
    if (!store_waiters_.empty()) {
      std::vector<Conn*> w;
      w.swap(store_waiters_);
      for (Conn* c : w) {
        if (!c->done && c->reader.waiting()) c->reader.resume();
      }
    }
    send_forwards();
    if (congested_ == 0 && forward_backlog_ <= kForwardBacklog && !congestion_waiters_.empty()) {
      std::vector<Conn*> w;
      w.swap(congestion_waiters_);
      for (Conn* c : w) {
        if (!c->done && c->reader.waiting()) c->reader.resume();
      }
    }
    publish_counters();
    for (std::size_t i = 0; i < marked_.size(); ++i) {  // send handlers may mark more
      Conn& c = *marked_[i];
      c.marked = false;
      if (!c.done) send(c);
      if (!c.done && c.closing && !c.sending && c.queue.empty()) close_now(c);
      c.marked = false;
    }
    marked_.clear();
    for (std::size_t i = 0; i < conns_.size();) {
      Conn& c = *conns_[i];
      if (c.done && c.reader.idle() && !c.sending) {
        remove_conn(i);
      } else {
        ++i;
      }
    }
  }

  void publish_counters() {
    // (C1) gauges of this worker, summed by stats().
    Mailbox& box = *sh_.boxes[index_];
    box.queued_bytes.store(queued_, std::memory_order_relaxed);
    box.held_messages.store(pins_.in_use(), std::memory_order_relaxed);
    if (local_.delivered != 0) bump(sh_.delivered, local_.delivered);
    if (local_.published != 0) bump(sh_.published, local_.published);
    if (local_.bytes_in != 0) bump(sh_.bytes_in, local_.bytes_in);
    if (local_.bytes_out != 0) bump(sh_.bytes_out, local_.bytes_out);
    local_ = Local{};
  }

  void send(Conn& c) {
    if (c.sending || c.queue.empty()) return;
    c.iov.clear();
    // The ring holds the unsent header bytes of every entry, in order (sent ones are consumed).
    const std::span<const std::byte> hdr = c.out.reader.readable();
    std::size_t hpos = 0;
    for (std::size_t i = 0; i < c.queue.size() && c.iov.size() + 2 <= kMaxIov; ++i) {
      const OutEntry& e = c.queue[i];
      const std::size_t sent = i == 0 ? c.front_sent : 0;
      const std::size_t hsent = std::min(sent, e.header);
      if (hsent < e.header) {
        // NOLINTNEXTLINE(*-const-cast): iovec has no const variant; the kernel only reads.
        c.iov.push_back({const_cast<std::byte*>(hdr.data() + hpos), e.header - hsent});
        hpos += e.header - hsent;
      }
      const std::size_t bsent = sent - hsent;
      if (bsent < e.body.size()) {
        // NOLINTNEXTLINE(*-const-cast)
        c.iov.push_back({const_cast<std::byte*>(e.body.data() + bsent), e.body.size() - bsent});
      }
    }
    const io::Submit s =
        uring_.send_gather(c.fd.get(), std::span<const iovec>(c.iov),
                           [this, pc = &c](const io::OpResult& r) { on_sent(*pc, r); });
    if (s) {
      c.sending = true;
    } else {
      bump(sh_.io_errors);
      close_now(c);
    }
  }

  void on_sent(Conn& c, const io::OpResult& r) {
    c.sending = false;
    if (!r.ok()) {
      if (!c.done && r.status != io::IoStatus::cancelled) {
        bump(sh_.io_errors);
        log(c, "send failed: " + r.error().message() + ", closing");
      }
      close_now(c);
      return;
    }
    local_.bytes_out += r.bytes;
    std::size_t left = r.bytes;
    const std::size_t sent = std::min(c.pending, left);
    c.pending -= sent;
    queued_ -= sent;
    c.progress = std::chrono::steady_clock::now();
    update_congestion(c);
    while (left > 0 && !c.queue.empty()) {
      OutEntry& e = c.queue.front();
      const std::size_t size = e.header + e.body.size();
      const std::size_t take = std::min(left, size - c.front_sent);
      // Header bytes leave the ring as soon as they are sent.
      const std::size_t hdr_before = std::min(c.front_sent, e.header);
      const std::size_t hdr_after = std::min(c.front_sent + take, e.header);
      if (hdr_after > hdr_before) (void)c.out.reader.consume(hdr_after - hdr_before);
      c.front_sent += take;
      left -= take;
      if (c.front_sent == size) {
        if (e.pin != kNoPin) pins_.release(e.pin);  // this connection's share of the message
        c.queue.pop_front();
        c.front_sent = 0;
      }
    }
    mark(c);
  }

  void remove_conn(std::size_t i) {
    forget_subs(*conns_[i]);
    OutQueue& q = conns_[i]->queue;
    for (std::size_t k = 0; k < q.size(); ++k) {
      if (q[k].pin != kNoPin) pins_.release(q[k].pin);
    }
    q.clear();
    queued_ -= conns_[i]->pending;
    conns_[i]->pending = 0;
    if (i + 1 != conns_.size()) std::swap(conns_[i], conns_.back());
    std::erase(store_waiters_, conns_.back().get());
    std::erase(congestion_waiters_, conns_.back().get());
    conns_.pop_back();
    drop(sh_.open);
  }

  // ---- accepting ---------------------------------------------------------------------------

  // The acceptor's owner interface (uring_acceptor.hpp): multishot while a burst of a whole
  // backlog fits the descriptor budget, else one accept (and a bounded synchronous burst) at a
  // time. An accept that fails (EMFILE, ENFILE, ENOMEM, ...) is counted and logged, and retried
  // by the loop after kAcceptRetry, not at once (it would fail again at once: a busy loop).
  void accepted(UniqueFd fd) {
    accept_failing_ = false;
    add(std::move(fd));
  }
  /// Whether a multishot accept's burst still fits the descriptor budget (fd_budget.hpp).
  [[nodiscard]] bool accept_bursts_fit() const noexcept {
    // (C3) relaxed, as in add(): a bound, it orders nothing.
    return sh_.open.load(std::memory_order_relaxed) < sh_.multishot_accept_below;
  }
  /// Connections that may still be accepted now (all workers) before max_conns rejects them.
  [[nodiscard]] std::size_t accept_room() const noexcept {
    // (C3) relaxed, as in add().
    return detail::accept_room(sh_.open.load(std::memory_order_relaxed), sh_.options.max_conns);
  }
  void accept_failed(std::string_view why) {
    // (A2) a hint: the listener is shut down at stop, which fails the accept.
    if (sh_.stopping.load(std::memory_order_relaxed)) return;
    bump(sh_.accept_errors);
    accept_retry_at_ = Clock::now() + kAcceptRetry;
    // One line per failing streak, not one per retry.
    if (!accept_failing_ && sh_.options.log) {
      sh_.options.log(std::string(why) + " (retried every 100 ms; see accept_errors)");
    }
    accept_failing_ = true;
  }

  void add(UniqueFd fd) {
    if (sh_.stopping.load(std::memory_order_relaxed)) return;  // (A2) a hint; (A1) decides
    // (C3) relaxed: the limit is a soft bound on a counter, it orders nothing.
    if (sh_.open.fetch_add(1, std::memory_order_relaxed) >= sh_.options.max_conns) {
      drop(sh_.open);
      bump(sh_.rejected);
      if (sh_.options.log) sh_.options.log("connection rejected: max_conns reached");
      static constexpr std::string_view kText = "-ERR 'maximum connections exceeded'\r\n";
      (void)::send(fd.get(), kText.data(), kText.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      return;  // closed by UniqueFd
    }
    auto in = make_mirror_byte_ring(pow2_at_least(std::max<std::size_t>(
        sh_.options.max_payload + sh_.options.max_control_line + 4, std::size_t{64} << 10U)));
    auto out = make_mirror_byte_ring(sh_.options.out_ring);
    if (!in || !out) {  // out of memory or mappings: the connection is closed
      drop(sh_.open);
      bump(sh_.io_errors);
      if (sh_.options.log) {
        sh_.options.log("connection closed: no ring (" + (!in ? in.message() : out.message()) +
                        ")");
      }
      return;
    }
    const int one = 1;  // replies and MSGs are small writes: never hold them back (Nagle)
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bump(sh_.connections);
    auto c = std::make_unique<Conn>(*this, std::move(fd), std::move(*in), std::move(*out), proto_);
    c->client_id = ++next_client_;
    c->client_ip = peer_ip(c->fd.get());
    c->last_in = now_;
    c->next_ping = now_ + sh_.options.ping_interval;
    Conn& ref = *c;
    conns_.push_back(std::move(c));
    send_info(ref);
    if (ref.reader.start() != Errc::ok) close_now(ref);
  }

  void send_info(Conn& c) {
    std::string t = "INFO {\"server_id\":\"";
    t += sh_.options.server_name;
    t += "\",\"server_name\":\"";
    t += sh_.options.server_name;
    t += "\",\"version\":\"";
    t += RINGKIT_VERSION_STRING;
    t += "\",\"proto\":1,\"host\":\"";
    t += sh_.options.host;
    t += "\",\"port\":";
    t += std::to_string(port_hint_);
    t += ",\"headers\":true,\"max_payload\":";
    t += std::to_string(sh_.options.max_payload);
    t += ",\"client_id\":";
    t += std::to_string(c.client_id);
    t += ",\"client_ip\":\"";
    t += c.client_ip;
    t += "\"} \r\n";
    (void)reply(c, t);
  }

 public:
  std::uint16_t port_hint_ = 0;

 private:
  Shared& sh_;
  std::size_t index_;
  friend class detail::UringAcceptor<Worker>;
  detail::UringAcceptor<Worker> acceptor_;  // submits to uring_ (destroyed first)
  static constexpr std::chrono::milliseconds kAcceptRetry{100};
  bool accept_failing_ = false;  ///< the last accept failed (logged once per streak)
  Clock::time_point accept_retry_at_{};
  NatsDecoder proto_;
  MessageStore store_;
  SubjectIndex subs_;  // plain subscriptions; queue group members are in members_
  std::unordered_map<std::uint32_t, std::vector<Sub*>> members_;  // by queue group id
  std::unordered_map<std::string, Reach, StringHash, std::equal_to<>> reach_;
  std::uint64_t reach_version_ = ~std::uint64_t{0};
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  MpscConsumer<Forward>* inbox_ = nullptr;
  std::vector<MpscProducer<Forward>> outbox_;
  std::vector<std::vector<Forward>> overflow_;
  std::vector<bool> pushed_;
  PinTable pins_;  // before conns_ and uring_: outlives every send that points into a message
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> marked_;
  std::vector<Conn*> store_waiters_;
  std::vector<Conn*> congestion_waiters_;
  std::size_t congested_ = 0;  // connections with Conn::congested set
  /// Tokens forwarded but not yet in the destinations' inboxes (full inboxes: a congested
  /// worker stops draining); above kForwardBacklog this worker's publishers pause.
  std::size_t forward_backlog_ = 0;
  std::size_t queued_ = 0;  // sum of every connection's pending bytes
  static constexpr std::size_t kForwardBacklog = 1024;
  std::string head_, tail_;    // build_header(): the parts of a MSG header shared by all
  std::string hhead_, htail_;  // ... and of an HMSG header (a message with headers)
  std::size_t hdr_header_ = 0;
  std::string hdr_reply_;  // the reply and size head_/tail_ were built for
  std::size_t hdr_size_ = ~std::size_t{0};
  /// Counters of the hot path, added to the shared atomics once per loop iteration.
  struct Local {
    std::uint64_t delivered = 0, published = 0, bytes_in = 0, bytes_out = 0;
  } local_;
  std::uint64_t next_client_ = 0;
  Clock::time_point now_ = Clock::now();  // the loop's clock: read once per iteration
  Clock::time_point next_ping_scan_{};
  Clock::time_point store_full_since_{};  // the store has refused every allocation since (or {})
  io::Uring uring_;  // last: destroyed first, so no handler runs on a destroyed connection
};

Conn::Conn(Worker& w, UniqueFd f, MirrorByteRing in, MirrorByteRing o, const NatsDecoder& proto)
    : worker(&w),
      fd(std::move(f)),
      decoder(proto),
      out(std::move(o)),
      reader(w.uring_, fd.get(), std::move(in), decoder, *this) {}

io::FrameAction Conn::on_frame(const io::Frame& f) noexcept {
  worker->local_.bytes_in += f.wire_bytes;
  last_in = worker->now_;  // the keep-alive's "it spoke lately" (the loop's clock, no syscall)
  if (in_payload) return worker->on_payload(*this, f.payload);
  // A control line: one span on the mirrored ring.
  if (!worker->on_line(*this, as_chars(f.payload.first()))) return io::FrameAction::stop;
  return io::FrameAction::next;
}

void Conn::on_end(Errc e) noexcept { worker->on_end(*this, e); }

#endif  // RINGKIT_HAS_URING

[[nodiscard]] Result<void> check_options(const FeedOptions& o) {
  auto bad = [](const char* what) -> Result<void> {
    return unexpected(Errc::invalid_argument, what);
  };
  if (o.threads == 0 || o.threads > 64) return bad("FeedOptions::threads (1 .. 64)");
  if (o.max_payload == 0 || o.max_payload > (std::size_t{64} << 20U)) {
    return bad("FeedOptions::max_payload (1 .. 64 MiB)");
  }
  if (o.max_control_line < 32 || o.max_control_line > (std::size_t{1} << 20U)) {
    return bad("FeedOptions::max_control_line (32 .. 1 MiB)");
  }
  if (o.max_conns == 0) return bad("FeedOptions::max_conns (>= 1)");
  if (o.max_pending < 1024) return bad("FeedOptions::max_pending (>= 1 KiB)");
  if (o.write_deadline <= std::chrono::milliseconds(0)) {
    return bad("FeedOptions::write_deadline (> 0)");
  }
  if (o.ping_interval < std::chrono::milliseconds(0)) {
    return bad("FeedOptions::ping_interval (>= 0; 0: never)");
  }
  if (o.max_pings_out == 0 || o.max_pings_out > 1000) {
    return bad("FeedOptions::max_pings_out (1 .. 1000)");
  }
  if (o.out_ring < 4096 || (o.out_ring & (o.out_ring - 1)) != 0 ||
      o.out_ring > (std::size_t{1} << 30U)) {
    return bad("FeedOptions::out_ring (a power of two, 4 KiB .. 1 GiB)");
  }
  if (o.store_pools.validate() != Errc::ok) {
    return bad("FeedOptions::store_pools (slots per class 1 .. 2^24, xxl_slots 1 .. 2^24)");
  }
  if (o.store_ring > (std::size_t{1} << 32U)) return bad("FeedOptions::store_ring (0 .. 4 GiB)");
  if (o.server_name.empty() || o.server_name.find_first_of("\"\\\r\n") != std::string::npos) {
    return bad("FeedOptions::server_name (non-empty, no quotes, backslashes or line breaks)");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<FeedServer>> FeedServer::start(const FeedOptions& options) {
  if (auto ok = check_options(options); !ok) return unexpected(ok.error(), ok.context());
#ifndef RINGKIT_HAS_URING
  return unexpected(Errc::unsupported, "FeedServer: built without io_uring");
#else
  // The line limit of nats-server counts the arguments only: room for the longest operation.
  auto proto = NatsDecoder::create(
      {.max_control_line = options.max_control_line + 16, .max_payload = options.max_payload});
  if (!proto) return unexpected(proto.error(), proto.context());
  std::unique_ptr<FeedServer> s(new FeedServer());  // NOLINT(*-owning-memory)
  s->shared_ = std::make_shared<Shared>();
  Shared& sh = *s->shared_;
  sh.options = options;
  // One descriptor a connection (its rings' memfds are closed once mapped).
  const detail::FdFit fit = detail::fit_descriptor_limit(options.max_conns, 1, options.threads,
                                                         kListenBacklog, options.log);
  sh.options.max_conns = fit.max_conns;
  sh.multishot_accept_below = fit.multishot_accept_below;
  const std::size_t workers = options.threads;
  for (std::size_t i = 0; i < workers; ++i) {
    auto box = std::make_unique<Mailbox>();
    if (workers > 1) {
      const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (efd < 0) return unexpected_errno(errno, "FeedServer: eventfd");
      box->wake = UniqueFd(efd);
      auto ch = make_mpsc<Forward>(4096, {}, workers);
      if (!ch) return unexpected(ch.error(), ch.context());
      box->inbox = std::make_unique<MpscConsumer<Forward>>(std::move(ch->consumer));
      box->producers.resize(workers);
      box->producers[(i + 1) % workers] = std::move(ch->producer);
      for (std::size_t k = 0; k < workers; ++k) {
        if (k == i || k == (i + 1) % workers) continue;
        auto p = box->producers[(i + 1) % workers].clone();
        if (!p) return unexpected(p.error(), p.context());
        box->producers[k] = std::move(*p);
      }
    }
    sh.boxes.push_back(std::move(box));
  }
  std::uint16_t port = options.port;
  for (std::size_t t = 0; t < workers; ++t) {
    auto lis = listen_tcp(options.host, port,
                          {.backlog = kListenBacklog, .reuse_port = true, .non_blocking = true});
    if (!lis) {
      s->stop();
      return unexpected(lis.error(), "FeedServer: bind");
    }
    if (t == 0) {
      port = *local_port(lis->get());
      s->port_ = port;
    }
    MessageStoreOptions so;
    so.pools = options.store_pools;
    // With several workers every message must be able to cross threads as an EventToken, so
    // messages above 16 KiB go to the pools' XXL heap instead of the ring allocator.
    so.ring_bytes = workers > 1 ? 0 : options.store_ring;
    auto store = MessageStore::create(so);
    if (!store) {
      s->stop();
      return unexpected(store.error(), "FeedOptions::store_pools / store_ring");
    }
    // The largest message a PUB can make: its subject and reply fill at most the control line.
    if (store->max_message() < kMsgPrefix + options.max_control_line + options.max_payload + 2) {
      s->stop();
      return unexpected(Errc::invalid_argument,
                        "FeedOptions::store_pools / store_ring (the store cannot hold a message of "
                        "max_payload bytes with the longest subject: set store_pools.xxl_enabled "
                        "or a larger store_ring)");
    }
    auto w = std::make_unique<Worker>(sh, t, std::move(*lis), *proto, std::move(*store));
    w->port_hint_ = port;
    std::promise<Result<void>> ready;
    std::future<Result<void>> is_ready = ready.get_future();
    std::shared_ptr<Shared> keep = s->shared_;
    s->threads_.emplace_back([keep, w = std::move(w), ready = std::move(ready)]() mutable {
      Result<void> r = w->init_on_thread();
      const bool ok = r.has_value();
      ready.set_value(r);
      if (ok) w->run();
    });
    if (Result<void> r = is_ready.get(); !r) {
      s->stop();
      return unexpected(r.error(), r.context());
    }
  }
  return s;
#endif
}

std::size_t FeedServer::max_conns() const noexcept {
  return shared_ ? shared_->options.max_conns : 0;
}

FeedStats FeedServer::stats() const noexcept {
  const Shared& sh = *shared_;
  FeedStats st;
  // (C2) relaxed snapshot of the (C1) counters.
  st.connections = sh.connections.load(std::memory_order_relaxed);
  st.active = sh.open.load(std::memory_order_relaxed);
  st.rejected = sh.rejected.load(std::memory_order_relaxed);
  st.published = sh.published.load(std::memory_order_relaxed);
  st.delivered = sh.delivered.load(std::memory_order_relaxed);
  st.bytes_in = sh.bytes_in.load(std::memory_order_relaxed);
  st.bytes_out = sh.bytes_out.load(std::memory_order_relaxed);
  st.subscriptions = sh.subscriptions.load(std::memory_order_relaxed);
  st.protocol_errors = sh.protocol_errors.load(std::memory_order_relaxed);
  st.slow_consumers = sh.slow_consumers.load(std::memory_order_relaxed);
  st.stale_connections = sh.stale_connections.load(std::memory_order_relaxed);
  st.io_errors = sh.io_errors.load(std::memory_order_relaxed);
  st.store_waits = sh.store_waits.load(std::memory_order_relaxed);
  st.forwarded = sh.forwarded.load(std::memory_order_relaxed);
  st.publisher_waits = sh.publisher_waits.load(std::memory_order_relaxed);
  st.accept_errors = sh.accept_errors.load(std::memory_order_relaxed);
  for (const auto& box : sh.boxes) {
    st.queued_bytes += box->queued_bytes.load(std::memory_order_relaxed);
    st.held_messages += box->held_messages.load(std::memory_order_relaxed);
  }
  return st;
}

void FeedServer::stop() {
  if (!shared_) return;
  shared_->stopping.store(true, std::memory_order_release);  // (R1)
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Messages forwarded to a worker that had already stopped: adopt their references.
  for (auto& box : shared_->boxes) {
    if (!box->inbox) continue;
    Forward f{};
    while (box->inbox->try_pop(f)) (void)EventRef::from_token(f.token);
  }
}

FeedServer::~FeedServer() { stop(); }

}  // namespace ringkit::net
