// tests/support/fuzz_input.hpp: the fuzz targets' reader of their input bytes, and their check
// macro: RINGKIT_FUZZ_CHECK(cond) names the file, line and condition on stderr and traps (a
// crash libFuzzer reports with the input that caused it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>

#define RINGKIT_FUZZ_CHECK(cond)                                                         \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                  \
    }                                                                                    \
  } while (0)

namespace ringkit_test {

/// Reads the input front to back; past the end every byte is 0.
class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool more() const { return pos_ < size_; }
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() {
    const std::uint16_t lo = u8();
    return static_cast<std::uint16_t>(lo | (u8() << 8));
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace ringkit_test
