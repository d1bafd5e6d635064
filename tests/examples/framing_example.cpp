#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <ringkit/framing.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/mirror_ring.hpp>

int main() {  // decode length-prefixed messages from a socket into pooled, refcounted messages
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  if (::write(sv[1], "\0\0\0\5hello\0\0\0\4ring", 17) != 17) return 2;  // 4-byte BE lengths
  auto [writer, reader] = *ringkit::make_mirror_byte_ring(std::size_t{64} * 1024);
  auto decoder = *ringkit::LengthFieldDecoder::create(
      {.length_width = ringkit::LengthWidth::u32, .max_frame = 1 << 20});
  auto store = *ringkit::MessageStore::create({});  // pool slots <= 16 KiB, ring buffers above
  std::vector<ringkit::MessageRef> got;             // each may go to any thread
  auto r = ringkit::io::read_some(sv[0], writer);   // recv into the ring
  auto run = ringkit::decode_into(reader, decoder, store,
                                  [&](ringkit::MessageRef m) { got.push_back(std::move(m)); });
  auto text = [&](int i) {
    return std::string_view(reinterpret_cast<const char*>(got[i].data()), got[i].size());
  };
  return r.bytes == 17 && run.frames == 2 && text(0) == "hello" && text(1) == "ring" ? 0 : 3;
}
