// Out-of-line parts of ringkit/io/vectored.hpp.
#include <ringkit/io/vectored.hpp>

namespace ringkit::io {

const char* to_string(IoStatus s) noexcept {
  switch (s) {
    case IoStatus::ok:
      return "ok";
    case IoStatus::would_block:
      return "would_block";
    case IoStatus::eof:
      return "eof";
    case IoStatus::error:
      return "error";
    case IoStatus::ring_full:
      return "ring_full";
    case IoStatus::ring_empty:
      return "ring_empty";
    case IoStatus::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace ringkit::io
