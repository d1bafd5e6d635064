// Tests of ringkit/unique_fd.hpp: UniqueFd closes, moves, releases and resets; whether a
// descriptor is open is checked with fcntl(F_GETFD).
#include <ringkit/unique_fd.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <cerrno>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

using ringkit::UniqueFd;

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);
static_assert(!std::is_convertible_v<int, UniqueFd>);  // explicit: no accidental ownership

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool is_closed(int fd) { return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF; }

int open_null() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  return fd;
}

TEST(UniqueFd, DefaultOwnsNothing) {
  const UniqueFd fd;
  EXPECT_EQ(fd.get(), -1);
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(fd);
  UniqueFd none(-1);
  EXPECT_FALSE(none);
  none.reset();  // no-op
  EXPECT_EQ(none.release(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
  const int raw = open_null();
  {
    const UniqueFd fd(raw);
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(fd.valid());
    EXPECT_TRUE(fd);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_TRUE(is_closed(raw));
}

TEST(UniqueFd, MoveConstructionTransfersOwnership) {
  const int raw = open_null();
  UniqueFd a(raw);
  {
    UniqueFd b(std::move(a));
    EXPECT_EQ(a.get(), -1);  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_TRUE(is_closed(raw));
}

TEST(UniqueFd, MoveAssignmentClosesTheOldDescriptor) {
  const int first = open_null();
  const int second = open_null();
  UniqueFd a(first);
  UniqueFd b(second);
  a = std::move(b);
  EXPECT_TRUE(is_closed(first));
  EXPECT_TRUE(is_open(second));
  EXPECT_EQ(a.get(), second);
  EXPECT_EQ(b.get(), -1);  // NOLINT(bugprone-use-after-move)

  auto& alias = a;
  a = std::move(alias);  // self-move keeps the descriptor
  EXPECT_EQ(a.get(), second);
  EXPECT_TRUE(is_open(second));

  a = UniqueFd();  // assigning an empty one closes
  EXPECT_TRUE(is_closed(second));
  EXPECT_FALSE(a);
}

TEST(UniqueFd, ReleaseGivesUpOwnershipWithoutClosing) {
  const int raw = open_null();
  int released = -1;
  {
    UniqueFd fd(raw);
    released = fd.release();
    EXPECT_FALSE(fd);
    EXPECT_EQ(fd.get(), -1);
  }
  EXPECT_EQ(released, raw);
  EXPECT_TRUE(is_open(raw));
  EXPECT_EQ(::close(raw), 0);
}

TEST(UniqueFd, ResetClosesAndTakesTheNewDescriptor) {
  const int first = open_null();
  const int second = open_null();
  UniqueFd fd(first);
  fd.reset(second);
  EXPECT_TRUE(is_closed(first));
  EXPECT_TRUE(is_open(second));
  EXPECT_EQ(fd.get(), second);
  fd.reset();
  EXPECT_TRUE(is_closed(second));
  EXPECT_FALSE(fd);
  fd.reset();  // idempotent
  EXPECT_FALSE(fd);
}

}  // namespace
