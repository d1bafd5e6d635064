#include <ringkit/byte_ring.hpp>

#include <gtest/gtest.h>

TEST(Smoke, Builds) {
  auto ring = ringkit::make_byte_ring(1024);
  ASSERT_TRUE(ring);
}
