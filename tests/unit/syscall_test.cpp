#include <gtest/gtest.h>

#include <climits>
#include <string>

#include "proto/syscall.hpp"

namespace {

namespace sys = tern::sys;

TEST(Syscall, ErrorNames)
{
    EXPECT_EQ(std::string(sys::error_name(0)), "ok");
    EXPECT_EQ(std::string(sys::error_name(42)), "ok");
    EXPECT_EQ(std::string(sys::error_name(sys::error_code(sys::Error::dead_endpoint))), "dead endpoint");
    EXPECT_EQ(std::string(sys::error_name(sys::error_code(sys::Error::permission))), "permission denied");
    EXPECT_EQ(std::string(sys::error_name(sys::error_code(sys::Error::deadlock))), "deadlock");
    EXPECT_EQ(std::string(sys::error_name(-999)), "unknown error");
    EXPECT_EQ(std::string(sys::error_name(INT64_MIN)), "unknown error");
    for (int64_t code = 1; code <= 10; ++code)
        EXPECT_NE(std::string(sys::error_name(-code)), "unknown error") << code;
}

TEST(Syscall, EndpointsCarrySlotAndGeneration)
{
    const sys::Endpoint e = sys::endpoint::make(5, 3);
    EXPECT_EQ(sys::endpoint::slot(e), 5u);
    EXPECT_EQ(sys::endpoint::generation(e), 3u);
    EXPECT_NE(sys::endpoint::make(5, 4), e);
}

} // namespace
