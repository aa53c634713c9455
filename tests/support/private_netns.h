// Moves the test process into a new, empty network namespace before any test runs, so the
// abstract control sockets it creates can never meet a real dnswashd (abstract unix sockets
// are per network namespace) and nothing here touches the root namespace. Needs root: the
// test fails, not skips, without it.
#pragma once

#include <sched.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

namespace dnswash::test {

class PrivateNetns : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0)
        << "unshare(CLONE_NEWNET): " << std::strerror(errno) << " (these tests need root)";
  }
};

}  // namespace dnswash::test
