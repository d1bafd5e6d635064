// tests/support/fuzz_input.hpp: the fuzz targets' reader of their input bytes.
#pragma once

#include <cstddef>
#include <cstdint>

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
