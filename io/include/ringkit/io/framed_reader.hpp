// ringkit/io/framed_reader.hpp: io_uring recv into a byte ring, then frame decoding in place.
//
// FramedReader is the small loop every framed io_uring server writes: recv() from a socket into
// the free space of a byte ring (one span on a mirrored ring, the part up to the wrap on a
// two-segment ring), run the frame decoder over the ring's readable bytes, hand each complete
// frame to the owner, consume it, arm the next recv. It owns no socket and no thread; it runs on
// the thread that runs the Uring.
//
//   struct Conn {                                         // the owner is the handler
//     ringkit::io::FrameAction on_frame(const ringkit::io::Frame& f);  // see Frame
//     void on_end(ringkit::Errc why);                     // ok: clean EOF on a frame boundary
//   };
//   ringkit::io::FramedReader<ringkit::MirrorByteRing, ringkit::LengthFieldDecoder, Conn>
//       reader(uring, fd, std::move(ring), decoder, conn);
//   (void)reader.start();
//   while (running) (void)uring.run_once(std::chrono::milliseconds(100));
//
// Frames: in view mode (the default) Frame::payload is the decoded payload in the ring itself,
// zero-copy: one span on a mirrored ring, up to two on a two-segment ring whose frame straddles
// the wrap. It is valid until on_frame() returns (the reader consumes the frame then). In copy
// mode (a MessageStore given) the payload is first copied once into the store and
// Frame::message is the refcounted handle the handler may keep (move or copy it out); the ring
// space is released before the next frame is decoded.
//
// Backpressure, never a drop:
//   - on_frame() returns FrameAction::pause when the owner cannot take the frame now (its output
//     ring is full): nothing is consumed, no recv is armed, and the same frame is handed out
//     again after resume().
//   - a full ring while the decoder still needs bytes of a frame that cannot fit: the frame can
//     never be completed, that is a per-stream error (Errc::buffered_limit).
//   - copy mode, store exhausted (a retryable store error): nothing is consumed, no recv is
//     armed; the reader retries after FramedReaderOptions::retry_after (an io_uring timeout) or at
//     resume(), whichever comes first, and continues in order.
//   - a full ring with complete frames still in it is not an error: those frames are decoded
//     first and the recv is re-armed once there is space.
// Discards: under TooLongPolicy::discard a too-long frame is skipped and the stream goes on; the
// report (exactly once per frame) goes to handler.on_discard(Errc, announced) when the handler
// has one, and is counted in stats().discards either way.
// Per-stream errors: a decoder error (Errc from ringkit/framing.hpp), a final store error (the
// frame can never be stored), a socket error (Errc::closed) or EOF inside a frame
// (Errc::truncated) ends the stream: on_end(errc) runs once, nothing is armed any more, and the
// owner closes the socket. A clean EOF on a frame boundary is on_end(Errc::ok). stop() ends the
// stream from the owner's side (on_end is not called for it).
//
// Lifetime: the reader's completion handlers point at it, so it is neither copyable nor movable,
// and it must outlive every operation it armed: destroy it only when idle() (after stop() and
// the owner's cancellation/shutdown let the in-flight recv complete), or together with the Uring
// after the loop has stopped (a destroyed Uring never runs pending handlers).
//
// Thread safety: single-owner. Every call, and every handler call, happens on the thread that
// runs the Uring.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>

#include <ringkit/error.hpp>
#include <ringkit/framing.hpp>
#include <ringkit/io/uring.hpp>
#include <ringkit/message_store.hpp>
#include <ringkit/segments.hpp>

namespace ringkit::io {

/// What the handler tells the reader after a frame.
enum class FrameAction : std::uint8_t {
  next,   ///< frame taken: consume it and decode the next one
  pause,  ///< not now: keep the frame (nothing consumed), stop reading until resume()
  stop,   ///< frame taken, then stop the stream (no on_end call; the owner closes the socket)
};

/// One decoded frame, as the handler sees it.
struct Frame {
  /// The payload in the ring (view mode; the message's bytes in copy mode). Valid until
  /// on_frame() returns; in view mode the next consume of the ring invalidates it.
  ConstSegments payload;
  /// Copy mode: the stored copy (move it out to keep it beyond on_frame()); nullptr in view mode.
  MessageRef* message = nullptr;
  /// Bytes the frame occupied on the wire (header included): what is consumed after it.
  std::size_t wire_bytes = 0;
};

/// Options of a FramedReader.
struct FramedReaderOptions {
  /// Copy mode: copy each frame once into this store and hand out a MessageRef (nullptr: view
  /// mode). The store must outlive the reader; it is used only from the reader's thread.
  MessageStore* store = nullptr;
  /// Copy mode: delay of the automatic retry after a retryable store error.
  std::chrono::nanoseconds retry_after = std::chrono::milliseconds(1);
};

/// Counters of one reader.
struct FramedReaderStats {
  std::uint64_t frames = 0;       ///< frames handed to on_frame() and taken (next/stop)
  std::uint64_t bytes = 0;        ///< bytes received
  std::uint64_t recvs = 0;        ///< recv completions with data
  std::uint64_t pauses = 0;       ///< FrameAction::pause answers
  std::uint64_t store_waits = 0;  ///< retryable store errors (copy mode backpressure)
  std::uint64_t discards = 0;     ///< too-long frames skipped (TooLongPolicy::discard)
};

/// The handler a FramedReader calls (see the file comment): on_frame() per frame, on_end() once,
/// and on_discard(Errc, std::uint64_t announced) per discarded frame if it has that member.
template <class H>
concept frame_handler = requires(H& h, const Frame& f, Errc e) {
  { h.on_frame(f) } -> std::same_as<FrameAction>;
  h.on_end(e);
};

/// recv() into `Ring` (MirrorByteRing or ByteRing: {writer, reader}) + `Decoder` (a
/// ringkit/framing.hpp decoder) -> Handler::on_frame(). See the file comment.
///
/// Design: the reader is a three-state machine driven by completions — reading (a recv in flight),
/// decoding (inside a completion, handing out frames), waiting (paused by the handler, or by the
/// store) — and it keeps at most one recv and one retry timer in flight. Decoding runs to
/// exhaustion of the complete frames before the recv is re-armed, so coalesced frames cost one
/// recv; a frame is consumed only after the handler took it, so pause/resume and store
/// exhaustion never lose or reorder a frame. The ring's view goes to the decoder as it is: on a
/// mirrored ring every frame is one span (no staging copy at the wrap); on a two-segment ring the
/// decoder reads a header across the wrap through its staging copy and the payload is two spans.
// Handler is usually the connection object that owns the reader (still incomplete where the
// reader member is declared), so frame_handler<Handler> is checked in start(), not here.
template <class Ring, class Decoder, class Handler>
class FramedReader {
 public:
  /// Attaches to `uring` and the socket `fd` (not owned); takes the ring; the decoder and the
  /// handler must outlive the reader.
  FramedReader(Uring& uring, int fd, Ring ring, Decoder& decoder, Handler& handler,
               const FramedReaderOptions& options = {}) noexcept
      : uring_(&uring),
        fd_(fd),
        ring_(std::move(ring)),
        decoder_(&decoder),
        handler_(&handler),
        options_(options) {}
  FramedReader(const FramedReader&) = delete;
  FramedReader& operator=(const FramedReader&) = delete;
  FramedReader(FramedReader&&) = delete;
  FramedReader& operator=(FramedReader&&) = delete;
  ~FramedReader() = default;

  /// Arms the first recv. Errc::invalid_argument if already started or ended; the Submit error
  /// (busy, invalid_argument: no free op slot) if the recv could not be armed.
  [[nodiscard]] Errc start() noexcept {
    static_assert(frame_handler<Handler>,
                  "FramedReader: Handler needs FrameAction on_frame(const Frame&) and "
                  "on_end(Errc)");
    static_assert(frame_decoder<Decoder>, "FramedReader: Decoder is not a frame_decoder");
    if (started_ || ended_) return Errc::invalid_argument;
    started_ = true;
    return arm();
  }
  /// Continues after FrameAction::pause (or a store wait): decodes what is buffered (the kept
  /// frame first), then re-arms the recv. No-op unless waiting.
  void resume() noexcept {
    if (ended_ || !waiting_) return;
    waiting_ = false;
    pump();
  }
  /// Ends the stream from the owner's side: nothing more is armed, on_end() is not called. An
  /// in-flight recv still completes (shut the socket down, or cancel(), to make it complete now).
  void stop() noexcept {
    ended_ = true;
    waiting_ = false;
  }
  /// Requests cancellation of the in-flight recv and retry timer (their completions still run).
  void cancel() noexcept {
    if (recv_id_.valid()) (void)uring_->cancel(recv_id_);
    if (timer_id_.valid()) (void)uring_->cancel(timer_id_);
  }

  /// True when no operation of this reader is in flight (it may then be destroyed).
  [[nodiscard]] bool idle() const noexcept { return !reading_ && !timer_armed_; }
  /// True once the stream ended (on_end() ran, or stop()).
  [[nodiscard]] bool ended() const noexcept { return ended_; }
  /// True while paused by the handler or waiting for store space.
  [[nodiscard]] bool waiting() const noexcept { return waiting_; }
  [[nodiscard]] const FramedReaderStats& stats() const noexcept { return stats_; }
  /// The ring (e.g. to register its mapping as a fixed buffer, or to read what is buffered).
  [[nodiscard]] Ring& ring() noexcept { return ring_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  /// Arms the recv if nothing blocks it; a full ring that the decoder cannot drain ends the
  /// stream (a frame larger than the ring).
  Errc arm() noexcept {
    if (ended_ || waiting_ || reading_ || eof_) return Errc::ok;
    const Submit s = uring_->recv(fd_, ring_.writer, [this](const OpResult& r) { on_recv(r); });
    if (s.errc == Errc::ring_full) {
      // The decoder left a full ring undecoded: the frame in it can never complete.
      end(Errc::buffered_limit);
      return Errc::ok;
    }
    if (!s) return s.errc;
    reading_ = true;
    recv_id_ = s.id;
    return Errc::ok;
  }

  void on_recv(const OpResult& r) noexcept {
    reading_ = false;
    recv_id_ = {};
    if (ended_) return;
    if (r.ok()) {
      ++stats_.recvs;
      stats_.bytes += r.bytes;
    } else if (r.status == IoStatus::eof) {
      eof_ = true;
    } else if (r.status != IoStatus::would_block) {
      end(Errc::closed);  // socket error or cancellation: the stream cannot continue
      return;
    }
    pump();
  }

  void on_timer() noexcept {
    timer_armed_ = false;
    timer_id_ = {};
    if (ended_ || !store_wait_) return;
    store_wait_ = false;
    waiting_ = false;
    pump();
  }

  /// Decodes every complete frame, then re-arms the recv (or reports the end of the stream).
  void pump() noexcept {
    while (!ended_ && !waiting_) {
      const DecodeRun run = ringkit::detail::decode_loop(
          ring_.reader, *decoder_, std::numeric_limits<std::size_t>::max(),
          [this](const ConstSegments& view, const Decoded& d, bool& stop) -> Errc {
            return deliver(view, d, stop);
          });
      if (run.status == FrameStatus::need_more) break;
      if (run.status == FrameStatus::skipped) {  // a discarded frame, reported exactly once
        ++stats_.discards;
        if constexpr (requires { handler_->on_discard(run.errc, run.announced); }) {
          handler_->on_discard(run.errc, run.announced);
        }
        continue;
      }
      if (run.status == FrameStatus::error) {
        end(run.errc);
        return;
      }
      // FrameStatus::frame: the handler paused or stopped, or the store refused the frame.
      if (run.errc == Errc::ok || run.errc == Errc::busy) return;  // stopped / paused
      if (run.errc == Errc::store_exhausted || is_retryable(run.errc)) {
        wait_for_store();
        return;
      }
      end(run.errc);  // too_large / never_fits: this frame can never be stored
      return;
    }
    if (ended_ || waiting_) return;
    if (eof_) {
      end(decoder_->on_eof(ring_.reader.readable_segments()));
      return;
    }
    const Errc e = arm();
    if (e != Errc::ok) end(e);
  }

  /// Hands one frame to the handler: Errc::ok to consume it (stop set for FrameAction::stop),
  /// Errc::busy for a pause, the store's error in copy mode (nothing consumed).
  Errc deliver(const ConstSegments& view, const Decoded& d, bool& stop) noexcept {
    Frame f;
    f.wire_bytes = d.consume;
    if (options_.store != nullptr) {
      if (!pending_) {  // a frame kept by a pause is not copied twice
        Result<MessageRef> m = copy_frame(*options_.store, view, d);
        if (!m) return static_cast<Errc>(m.error().value());
        pending_ = std::move(*m);
      }
      f.payload = ConstSegments(pending_.bytes());
      f.message = &pending_;
    } else {
      f.payload = frame_view(view, d);
    }
    const FrameAction a = handler_->on_frame(f);
    if (a == FrameAction::pause) {
      ++stats_.pauses;
      waiting_ = true;
      return Errc::busy;
    }
    pending_.reset();
    ++stats_.frames;
    if (a == FrameAction::stop) {
      stop = true;
      ended_ = true;
    }
    return Errc::ok;
  }

  void end(Errc e) noexcept {
    if (ended_) return;
    ended_ = true;
    waiting_ = false;
    handler_->on_end(e);
  }

  void wait_for_store() noexcept {
    ++stats_.store_waits;
    waiting_ = true;
    store_wait_ = true;
    if (timer_armed_) return;
    const Submit s = uring_->timeout(options_.retry_after, [this](const OpResult&) { on_timer(); });
    if (s) {
      timer_armed_ = true;
      timer_id_ = s.id;
    }  // else: resume() is the only way on (no free op slot for the timer)
  }

  Uring* uring_;
  int fd_;
  Ring ring_;
  Decoder* decoder_;
  Handler* handler_;
  FramedReaderOptions options_;
  FramedReaderStats stats_;
  OpId recv_id_{};
  OpId timer_id_{};
  bool started_ = false;
  bool reading_ = false;
  bool timer_armed_ = false;
  bool waiting_ = false;
  bool store_wait_ = false;
  bool eof_ = false;
  bool ended_ = false;
  MessageRef pending_;  // copy mode: the stored copy of a frame the handler paused on
};

}  // namespace ringkit::io
