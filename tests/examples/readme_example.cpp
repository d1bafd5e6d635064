#include <unistd.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/io/vectored.hpp>

int main() {  // pipe -> ring -> pipe, no intermediate copy
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) return 1;
  auto [writer, reader] = *ringkit::make_byte_ring(std::size_t{64} * 1024);  // power of two
  if (::write(in[1], "hello, ring", 11) != 11) return 2;
  auto r = ringkit::io::read_some(in[0], writer);    // readv into <= 2 free segments
  auto w = ringkit::io::write_some(out[1], reader);  // writev from <= 2 filled segments
  char buf[16];
  return r.bytes == 11 && w.bytes == 11 && ::read(out[0], buf, sizeof buf) == 11 ? 0 : 3;
}
