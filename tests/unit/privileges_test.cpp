#include <gtest/gtest.h>

#include "proc/privileges.hpp"

namespace {

namespace sys = tern::sys;
namespace privileges = kernel::privileges;
using sys::Call;

TEST(Privileges, EveryPrivilegedCallNeedsItsBit)
{
    struct Case {
        Call call;
        uint64_t needed;
    };
    const Case cases[] = {
        {Call::proc_spawn, sys::privilege::spawn},     {Call::proc_kill, sys::privilege::spawn},
        {Call::module_info, sys::privilege::spawn},    {Call::kernel_event, sys::privilege::spawn},
        {Call::proc_crash, sys::privilege::crash},     {Call::dma_alloc, sys::privilege::devices},
        {Call::mmio_map, sys::privilege::devices},     {Call::irq_attach, sys::privilege::devices},
        {Call::shm_physical, sys::privilege::devices},
        {Call::poweroff, sys::privilege::poweroff},    {Call::console_read, sys::privilege::console_read},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(privileges::required_for(c.call), c.needed) << static_cast<int>(c.call);
        EXPECT_FALSE(privileges::may_call(0, c.call)) << static_cast<int>(c.call);
        EXPECT_FALSE(privileges::may_call(~c.needed, c.call)) << "any other bit must not do";
        EXPECT_TRUE(privileges::may_call(c.needed, c.call));
    }
}

TEST(Privileges, OrdinaryCallsAreOpenToAll)
{
    const Call open[] = {Call::exit,     Call::yield,       Call::self,       Call::sleep,      Call::uptime,
                         Call::abort,    Call::console_write, Call::ipc_send, Call::ipc_receive, Call::ipc_call,
                         Call::ipc_reply, Call::ipc_notify, Call::ipc_send_nb, Call::alarm,     Call::mem_map,
                         Call::mem_unmap, Call::shm_create, Call::shm_grant,  Call::shm_map, Call::shm_release,    Call::proc_info,
                         Call::cpu_info, Call::syscall_count, Call::proc_watch, Call::pci_info};
    for (Call c : open)
        EXPECT_TRUE(privileges::may_call(0, c)) << static_cast<int>(c);
    EXPECT_TRUE(privileges::may_call(0, static_cast<Call>(9999))); // unknown: the dispatcher says invalid_call
}

TEST(Privileges, SpawnCannotGrantMoreThanItHolds)
{
    EXPECT_TRUE(privileges::may_grant(sys::privilege::spawn | sys::privilege::crash, sys::privilege::crash));
    EXPECT_TRUE(privileges::may_grant(sys::privilege::spawn, 0));
    EXPECT_FALSE(privileges::may_grant(sys::privilege::spawn, sys::privilege::devices));
    EXPECT_FALSE(privileges::may_grant(0, ~0ull));
}

TEST(Privileges, DevicesOnlyForTheirOwnPciFunction)
{
    const uint32_t e1000 = (0 << 8) | (3 << 3) | 0;
    EXPECT_TRUE(privileges::may_use_device(sys::privilege::devices, e1000, e1000));
    EXPECT_FALSE(privileges::may_use_device(sys::privilege::devices, e1000, e1000 + 1));
    EXPECT_FALSE(privileges::may_use_device(0, e1000, e1000));
    EXPECT_FALSE(privileges::may_use_device(sys::privilege::devices, ~0u, ~0u)); // no device named at start
}

TEST(Privileges, SharedMemoryNeedsAGrantCoveringTheFlags)
{
    const sys::Endpoint owner = sys::endpoint::make(1, 1), reader = sys::endpoint::make(2, 1),
                        stranger = sys::endpoint::make(3, 1), old_reader = sys::endpoint::make(2, 0);
    const privileges::ShmGrant grants[] = {{reader, sys::map_flags::read}};
    const uint64_t rw = sys::map_flags::read | sys::map_flags::write;
    EXPECT_TRUE(privileges::may_map_shared(owner, owner, grants, 1, rw));
    EXPECT_TRUE(privileges::may_map_shared(reader, owner, grants, 1, sys::map_flags::read));
    EXPECT_FALSE(privileges::may_map_shared(reader, owner, grants, 1, rw));
    EXPECT_FALSE(privileges::may_map_shared(stranger, owner, grants, 1, sys::map_flags::read));
    EXPECT_FALSE(privileges::may_map_shared(old_reader, owner, grants, 1, sys::map_flags::read))
        << "a restarted grantee is a new endpoint and has no grant";
}

} // namespace
