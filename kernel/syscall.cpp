// System-call dispatch: decode the call, check the arguments and the
// caller's privileges, then act. Every call runs under the kernel lock with
// interrupts off; the ABI is in lib/proto/syscall.hpp and docs/SYSCALLS.md.
#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/descriptors.hpp"
#include "arch/interrupts.hpp"
#include "arch/memory_layout.hpp"
#include "arch/percpu.hpp"
#include "console.hpp"
#include "log.hpp"
#include "mm/memory.hpp"
#include "proc/devices.hpp"
#include "proc/ipc.hpp"
#include "proc/lifecycle.hpp"
#include "proc/privileges.hpp"
#include "proc/scheduler.hpp"
#include "proc/shared_memory.hpp"
#include "test_mode.hpp"

namespace kernel {
namespace {

using sys::Call;
using sys::Error;
using sys::error_code;

constexpr uint64_t max_map = 1ull << 30;

int64_t sys_mem_map(Process& me, uint64_t size, uint64_t flags)
{
    if (size == 0 || size > max_map || (flags & ~(sys::map_flags::read | sys::map_flags::write)) != 0)
        return error_code(Error::invalid_argument);
    // Refuse at once what cannot fit, rather than zeroing pages under the lock first.
    if ((size + arch::page_size - 1) / arch::page_size > memory::frames().free_frames())
        return error_code(Error::no_memory);
    auto area = me.space.allocate_area(size);
    if (!area.ok())
        return error_code(Error::no_memory);
    if (!me.space.map_new(area.value(), size, (flags & sys::map_flags::write) != 0, false).ok())
        return error_code(Error::no_memory);
    return static_cast<int64_t>(area.value());
}

int64_t sys_mem_unmap(Process& me, uint64_t address, uint64_t size)
{
    if (size == 0 || address % arch::page_size != 0 || address < AddressSpace::area_base ||
        address >= AddressSpace::area_end || size > AddressSpace::area_end - address)
        return error_code(Error::invalid_argument);
    // Only areas handed out can hold mappings: the rest of the range is empty.
    const uint64_t end = address + size < me.space.areas_end() ? address + size : me.space.areas_end();
    if (end > address) {
        shared_memory_unmap(me, address, end);
        me.space.unmap(address, end - address);
    }
    flush_tlb(me);
    return 0;
}

int64_t sys_sleep(Process& me, uint64_t milliseconds)
{
    if (milliseconds > 24ull * 3600 * 1000)
        return error_code(Error::invalid_argument);
    if (milliseconds == 0) {
        yield_current();
        return 0;
    }
    me.wake_time_ns = arch::clock::uptime_ns() + milliseconds * 1000000;
    block_current(Wait::sleep);
    return me.ipc_result;
}

int64_t sys_alarm(Process& me, uint64_t milliseconds)
{
    if (milliseconds > 24ull * 3600 * 1000)
        return error_code(Error::invalid_argument);
    me.alarm_time_ns = milliseconds == 0 ? 0 : arch::clock::uptime_ns() + milliseconds * 1000000;
    return 0;
}

int64_t sys_proc_spawn(Process& me, uint64_t user_request)
{
    sys::SpawnRequest request;
    if (!me.space.copy_in(&request, user_request, sizeof(request)))
        return error_code(Error::bad_address);
    request.name[sizeof(request.name) - 1] = '\0';
    return spawn(request, me.privileges);
}

int64_t sys_proc_kill(sys::Endpoint target, bool crash, uint64_t kind)
{
    if (crash && kind > static_cast<uint64_t>(sys::CrashKind::hang))
        return error_code(Error::invalid_argument);
    Process* p = process_for(target);
    if (p == nullptr)
        return error_code(Error::dead_endpoint);
    if (crash)
        request_crash(*p, static_cast<sys::CrashKind>(kind));
    else
        request_kill(*p);
    return 0;
}

int64_t sys_proc_info(Process& me, uint64_t slot, uint64_t user_info)
{
    if (slot >= max_processes)
        return error_code(Error::not_found);
    const Process& p = process_slot(slot);
    if (!p.alive())
        return error_code(Error::not_found);
    sys::ProcessInfo info{};
    info.endpoint = p.endpoint();
    __builtin_memcpy(info.name, p.name, sizeof(info.name));
    info.core = p.thread.core;
    info.state = p.state;
    info.restarts = p.restarts;
    uint64_t ticks = p.cpu_time_ticks;
    if (p.state == sys::ProcessState::running)
        ticks += arch::rdtsc() - p.run_start_tsc;
    info.cpu_time_ns = static_cast<uint64_t>(static_cast<unsigned __int128>(ticks) * 1000000000 / arch::clock::tsc_hz());
    info.syscalls = p.syscalls;
    return me.space.copy_out(user_info, &info, sizeof(info)) ? 0 : error_code(Error::bad_address);
}

int64_t sys_cpu_info(Process& me, uint64_t core, uint64_t user_info)
{
    if (core >= arch::cpu_count())
        return error_code(Error::not_found);
    const CoreState& state = core_state(static_cast<unsigned>(core));
    const uint64_t now = arch::rdtsc();
    uint64_t busy = state.busy_ticks;
    if (state.current != nullptr && state.current->process != nullptr)
        busy += now - state.current->process->run_start_tsc;
    auto to_ns = [](uint64_t ticks) {
        return static_cast<uint64_t>(static_cast<unsigned __int128>(ticks) * 1000000000 / arch::clock::tsc_hz());
    };
    sys::CpuInfo info{arch::cpu(static_cast<unsigned>(core)).apic_id, arch::cpu(static_cast<unsigned>(core)).online,
                      to_ns(busy), to_ns(now - state.online_tsc)};
    return me.space.copy_out(user_info, &info, sizeof(info)) ? 0 : error_code(Error::bad_address);
}

int64_t sys_module_info(Process& me, uint64_t index, uint64_t user_info)
{
    const char* cmdline;
    uint64_t size;
    if (!module_cmdline(index, cmdline, size))
        return error_code(Error::not_found);
    sys::ModuleInfo info{};
    info.size = size;
    for (size_t i = 0; i + 1 < sizeof(info.cmdline) && cmdline[i] != '\0'; ++i)
        info.cmdline[i] = cmdline[i];
    return me.space.copy_out(user_info, &info, sizeof(info)) ? 0 : error_code(Error::bad_address);
}

int64_t sys_kernel_event(Process& me, uint64_t user_event)
{
    sys::KernelEvent probe{};
    if (!me.space.copy_out(user_event, &probe, sizeof(probe)))
        return error_code(Error::bad_address);
    sys::KernelEvent event;
    if (!next_kernel_event(event))
        return error_code(Error::would_block);
    (void)me.space.copy_out(user_event, &event, sizeof(event));
    return 0;
}

int64_t sys_abort(Process& me, uint64_t user_text, uint64_t length, const arch::InterruptFrame& frame)
{
    char text[160] = "(message unreadable)";
    const size_t n = length < sizeof(text) - 1 ? static_cast<size_t>(length) : sizeof(text) - 1;
    if (me.space.copy_in(text, user_text, n))
        text[n] = '\0';
    log("process '%s' aborts: %s", me.name, text);
    exit_current(sys::EventKind::aborted, 0, &frame);
}

int64_t dispatch(Process& me, arch::InterruptFrame& f)
{
    const uint64_t a0 = f.rdi, a1 = f.rsi, a2 = f.rdx;
    const auto call = static_cast<Call>(f.rax);
    if (!privileges::may_call(me.privileges, call))
        return error_code(Error::permission);
    switch (call) {
    case Call::exit: exit_current(sys::EventKind::exited, a0, nullptr);
    case Call::yield: yield_current(); return 0;
    case Call::self: return static_cast<int64_t>(me.endpoint());
    case Call::sleep: return sys_sleep(me, a0);
    case Call::uptime: return static_cast<int64_t>(arch::clock::uptime_ns());
    case Call::abort: return sys_abort(me, a0, a1, f);
    case Call::console_write: return console_write(me, a0, a1);
    case Call::console_read: return console_read(me, a0, a1);
    case Call::ipc_send: return ipc_send(me, a0, a1, false);
    case Call::ipc_receive: return ipc_receive(me, a0, a1);
    case Call::ipc_call: return ipc_call(me, a0, a1);
    case Call::ipc_reply: return ipc_reply(me, a0, a1);
    case Call::ipc_notify: return ipc_notify(me, a0);
    case Call::ipc_send_nb: return ipc_send(me, a0, a1, true);
    case Call::alarm: return sys_alarm(me, a0);
    case Call::mem_map: return sys_mem_map(me, a0, a1);
    case Call::mem_unmap: return sys_mem_unmap(me, a0, a1);
    case Call::shm_create: return shm_create(me, a0);
    case Call::shm_grant: return shm_grant(me, a0, a1, a2);
    case Call::shm_map: return shm_map(me, a0, a1, a2, f.r10);
    case Call::shm_release: return shm_release(me, a0);
    case Call::shm_physical: return shm_physical(me, a0, a1);
    case Call::dma_alloc: return dma_alloc(me, a0, a1);
    case Call::mmio_map: return mmio_map(me, a0, a1);
    case Call::irq_attach: return irq_attach(me, a0);
    case Call::proc_spawn: return sys_proc_spawn(me, a0);
    case Call::proc_kill: return sys_proc_kill(a0, false, 0);
    case Call::proc_crash: return sys_proc_kill(a0, true, a1);
    case Call::proc_info: return sys_proc_info(me, a0, a1);
    case Call::module_info: return sys_module_info(me, a0, a1);
    case Call::cpu_info: return sys_cpu_info(me, a0, a1);
    case Call::poweroff: power_off();
    case Call::kernel_event: return sys_kernel_event(me, a0);
    case Call::proc_watch: return ipc_watch(me, a0);
    case Call::pci_info: return pci_info(me, a0, a1);
    case Call::syscall_count: {
        Process* p = process_for(a0);
        return p != nullptr ? static_cast<int64_t>(p->syscalls) : error_code(Error::dead_endpoint);
    }
    }
    return error_code(Error::invalid_call);
}

} // namespace

} // namespace kernel

extern "C" void syscall_dispatch(arch::InterruptFrame* frame)
{
    using namespace kernel;
    lock_kernel();
    Process& me = *current_process();
    ++me.syscalls;
    frame->rax = static_cast<uint64_t>(dispatch(me, *frame));
    before_user_return(*frame);
    unlock_kernel();
}
