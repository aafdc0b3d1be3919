#include <gtest/gtest.h>

#include <climits>
#include <cstddef>
#include <string>

#include "proto/syscall.hpp"

namespace {

namespace sys = tern::sys;

// The layouts user programs and the kernel share (docs/SYSCALLS.md lists them).
static_assert(sizeof(sys::Message) == 64 && offsetof(sys::Message, type) == 8 && offsetof(sys::Message, words) == 16);
static_assert(sizeof(sys::SpawnRequest) == 56 && offsetof(sys::SpawnRequest, privileges) == 8 &&
              offsetof(sys::SpawnRequest, pci_device) == 16 && offsetof(sys::SpawnRequest, name) == 24);
static_assert(sizeof(sys::ProcessInfo) == 72 && offsetof(sys::ProcessInfo, core) == 40 &&
              offsetof(sys::ProcessInfo, cpu_time_ns) == 56);
static_assert(sizeof(sys::ModuleInfo) == 128);
static_assert(sizeof(sys::CpuInfo) == 24);
static_assert(sizeof(sys::DmaRegion) == 24);
static_assert(sizeof(sys::PciInfo) == 16 && offsetof(sys::PciInfo, class_code) == 8 && offsetof(sys::PciInfo, irq_line) == 11);
static_assert(sizeof(sys::KernelEvent) == 56 && offsetof(sys::KernelEvent, endpoint) == 8 &&
              offsetof(sys::KernelEvent, rip) == 32);

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
