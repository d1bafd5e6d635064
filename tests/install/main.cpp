// Built against an installed ringkit through find_package(ringkit) and through pkg-config:
// proves the export, the .pc file and the generated version header work.
#include <cstdio>
#include <cstring>

#include <unistd.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/version.hpp>

int main() {
  auto ring = ringkit::make_byte_ring(4096);
  if (!ring) return 1;
  int fds[2];
  if (::pipe(fds) != 0) return 2;
  const char msg[] = "installed";
  if (::write(fds[1], msg, sizeof msg) != static_cast<ssize_t>(sizeof msg)) return 3;
  const auto r = ringkit::io::read_some(fds[0], ring->writer);
  char out[sizeof msg] = {};
  const std::size_t n = ring->reader.read(out, sizeof out);
  ::close(fds[0]);
  ::close(fds[1]);
  if (!r.ok() || n != sizeof msg || std::memcmp(out, msg, sizeof msg) != 0) return 4;
  std::printf("consumer ok ringkit %s\n", ringkit::kVersionString);
  return 0;
}
