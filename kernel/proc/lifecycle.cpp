#include "proc/lifecycle.hpp"

#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/lapic.hpp"
#include "arch/memory_layout.hpp"
#include "arch/percpu.hpp"
#include "base/bytes.hpp"
#include "cmdline.hpp"
#include "kernel.hpp"
#include "log.hpp"
#include "mm/memory.hpp"
#include "proc/elf.hpp"
#include "proc/ipc.hpp"
#include "proc/privileges.hpp"
#include "proc/scheduler.hpp"
#include "proc/devices.hpp"
#include "proc/shared_memory.hpp"

extern "C" void thread_start();

namespace kernel {
namespace {

using sys::Error;
using sys::error_code;
using arch::page_size;

Process g_processes[max_processes];
uint64_t g_crash_page_phys = 0;
Process* g_rs = nullptr;

constexpr size_t max_events = 64;
sys::KernelEvent g_events[max_events];
size_t g_event_head = 0, g_event_count = 0;

constexpr uint64_t all_privileges = ~0ull;

void copy_name(char (&dst)[32], const char* src)
{
    size_t i = 0;
    for (; i + 1 < sizeof(dst) && src[i] != '\0' && src[i] != ' '; ++i)
        dst[i] = src[i];
    dst[i] = '\0';
}

// Called by thread_start for a process's first run: leave the kernel.
void enter_user_first_time(uint64_t)
{
    before_user_return(*core_state(arch::current_cpu_index()).current->user_frame());
    unlock_kernel();
}

tern::Result<void> load_image(Process& p, const uint8_t* data, size_t size, uint64_t& entry)
{
    elf::Image image;
    auto parsed = elf::parse(data, size, image);
    if (!parsed.ok())
        return parsed.error();
    for (size_t i = 0; i < image.segment_count; ++i) {
        const elf::Segment& s = image.segments[i];
        const uint64_t start = tern::align_down(s.vaddr, page_size);
        const uint64_t end = tern::align_up(s.vaddr + s.memsz, page_size);
        auto mapped = p.space.map_new(start, end - start, s.writable, s.executable);
        if (!mapped.ok())
            return mapped.error();
        if (s.filesz > 0 && !p.space.copy_into_image(s.vaddr, data + s.file_offset, s.filesz))
            return tern::Error::malformed;
    }
    entry = image.entry;
    return {};
}

void post_event(const sys::KernelEvent& event)
{
    if (g_event_count == max_events) {
        log("kernel events: queue full (rs is not reading); the end of 0x%lx is not reported", event.endpoint);
        return;
    }
    g_events[(g_event_head + g_event_count) % max_events] = event;
    ++g_event_count;
    if (g_rs != nullptr && g_rs->alive())
        post_notification(*g_rs, KernelSource::kernel);
}

} // namespace

Process& process_slot(size_t slot) { return g_processes[slot]; }

Process* process_for(sys::Endpoint endpoint)
{
    const uint64_t slot = sys::endpoint::slot(endpoint);
    if (slot >= max_processes)
        return nullptr;
    Process& p = g_processes[slot];
    if (!p.alive() || p.generation != sys::endpoint::generation(endpoint))
        return nullptr;
    return &p;
}

Process* current_process() { return core_state(arch::current_cpu_index()).current->process; }

size_t module_count() { return boot_info().module_count; }

bool module_cmdline(size_t index, const char*& cmdline, uint64_t& size)
{
    if (index >= boot_info().module_count)
        return false;
    const auto& m = boot_info().modules[index];
    cmdline = m.cmdline;
    size = m.end - m.start;
    return true;
}

int64_t spawn(const sys::SpawnRequest& request, uint64_t parent_privileges)
{
    // Check everything first.
    if (request.module >= boot_info().module_count)
        return error_code(Error::not_found);
    if (!privileges::may_grant(parent_privileges, request.privileges))
        return error_code(Error::permission);
    if (request.core >= 0 && (static_cast<unsigned>(request.core) >= arch::cpu_count() ||
                              !arch::cpu(static_cast<unsigned>(request.core)).online.load()))
        return error_code(Error::invalid_argument);
    Process* slot = nullptr;
    for (Process& p : g_processes) {
        if (p.state == sys::ProcessState::free) {
            slot = &p;
            break;
        }
    }
    if (slot == nullptr)
        return error_code(Error::no_memory);

    const auto& module = boot_info().modules[request.module];
    auto stack = memory::frames().allocate_contiguous(kernel_stack_size / page_size);
    if (!stack.ok())
        return error_code(Error::no_memory);

    // Then act. The slot's generation moves on, so endpoints of an earlier
    // process in this slot are stale from here on.
    Process& p = *slot;
    const uint32_t generation = p.generation + 1;
    p = Process{};
    p.slot = static_cast<uint32_t>(slot - g_processes);
    p.generation = generation;
    p.state = sys::ProcessState::stopped; // not schedulable until complete
    if (request.name[0] != '\0')
        copy_name(p.name, request.name);
    else
        copy_name(p.name, module.cmdline);
    p.privileges = request.privileges;
    p.pci_device = request.pci_device;
    p.restarts = request.restarts;
    p.pinned = request.core >= 0;
    p.thread.process = &p;
    p.thread.stack_base = reinterpret_cast<uint64_t>(arch::phys_to_virt(stack.value()));
    p.thread.stack_top = p.thread.stack_base + kernel_stack_size;
    p.thread.core = p.pinned ? static_cast<unsigned>(request.core) : pick_core();
    __builtin_memcpy(p.fpu_state, clean_fpu_state(), sizeof(p.fpu_state));

    auto fail = [&](tern::Error error) -> int64_t {
        p.space.destroy();
        (void)memory::frames().free_contiguous(stack.value(), kernel_stack_size / page_size);
        p.state = sys::ProcessState::free;
        log("spawn of '%s' failed: %s", p.name, tern::error_name(error));
        return error == tern::Error::out_of_memory ? error_code(Error::no_memory) : error_code(Error::invalid_argument);
    };
    if (auto created = p.space.create(); !created.ok())
        return fail(created.error());
    uint64_t entry = 0;
    const auto* image = static_cast<const uint8_t*>(arch::phys_to_virt(module.start));
    if (auto loaded = load_image(p, image, module.end - module.start, entry); !loaded.ok())
        return fail(loaded.error());
    constexpr uint64_t stack_size = AddressSpace::stack_size;
    if (auto mapped = p.space.map_new(AddressSpace::stack_top - stack_size, stack_size, true, false); !mapped.ok())
        return fail(mapped.error());
    if (auto mapped = p.space.map_frames(AddressSpace::crash_page, g_crash_page_phys, page_size, false, false, false, true);
        !mapped.ok())
        return fail(mapped.error());
    // The command line goes at the top of the user stack; rdi points at it.
    char cmdline[sys::max_cmdline];
    const size_t length = process_cmdline(module.cmdline, p.name, boot_info().cmdline, cmdline, sizeof(cmdline));
    const uint64_t cmdline_at = AddressSpace::stack_top - 256;
    (void)p.space.copy_out(cmdline_at, cmdline, length + 1);

    arch::InterruptFrame* frame = p.thread.user_frame();
    *frame = arch::InterruptFrame{};
    frame->rip = entry;
    frame->cs = arch::selector::user_code;
    frame->rflags = 0x202; // IF
    frame->rsp = cmdline_at - 64;
    frame->ss = arch::selector::user_data;
    frame->rdi = cmdline_at;
    frame->rsi = g_rs != nullptr ? g_rs->endpoint() : p.endpoint();
    // Below the frame: what context_switch pops (r15..rbp) and its return address.
    auto* switch_frame = reinterpret_cast<uint64_t*>(frame) - 7;
    switch_frame[0] = 0;                                              // r15
    switch_frame[1] = 0;                                              // r14
    switch_frame[2] = 0;                                              // r13: argument
    switch_frame[3] = reinterpret_cast<uint64_t>(&enter_user_first_time); // r12: function
    switch_frame[4] = 0;                                              // rbx
    switch_frame[5] = 0;                                              // rbp
    switch_frame[6] = reinterpret_cast<uint64_t>(&thread_start);
    p.thread.saved_rsp = reinterpret_cast<uint64_t>(switch_frame);

    p.state = sys::ProcessState::blocked;
    make_ready(p);
    log("started '%s' as endpoint 0x%lx on cpu %u", p.name, p.endpoint(), p.thread.core);
    return static_cast<int64_t>(p.endpoint());
}

void start_processes()
{
    auto page = memory::frames().allocate();
    if (!page.ok())
        panic("no memory for the crash page");
    g_crash_page_phys = page.value();
    auto* code = arch::phys_to_ptr<uint8_t>(g_crash_page_phys);
    __builtin_memset(code, 0xCC, page_size); // int3 everywhere else
    code[0] = 0xEB;                          // crash "hang": jmp . (spins in user mode)
    code[1] = 0xFE;
    capture_clean_fpu_state();

    size_t rs_module = boot_info().module_count;
    for (size_t i = 0; i < boot_info().module_count; ++i) {
        const char* c = boot_info().modules[i].cmdline;
        if (c[0] == 'r' && c[1] == 's' && (c[2] == '\0' || c[2] == ' ')) {
            rs_module = i;
            break;
        }
    }
    if (rs_module == boot_info().module_count) {
        log("no 'rs' boot module: no processes to run");
        return;
    }
    sys::SpawnRequest request{};
    request.module = static_cast<uint32_t>(rs_module);
    request.core = 0;
    request.privileges = all_privileges;
    request.pci_device = ~0u;
    KernelLockGuard guard;
    const int64_t endpoint = spawn(request, all_privileges);
    if (endpoint < 0)
        panic("cannot start rs: %s", sys::error_name(endpoint));
    g_rs = process_for(static_cast<sys::Endpoint>(endpoint));
}

void exit_current(sys::EventKind kind, uint64_t status, const arch::InterruptFrame* fault)
{
    Process& p = *current_process();
    sys::KernelEvent event{};
    event.kind = kind;
    event.endpoint = p.endpoint();
    event.status = status;
    event.time_ns = arch::clock::uptime_ns();
    if (fault != nullptr) {
        event.vector = static_cast<uint32_t>(fault->vector);
        event.rip = fault->rip;
        event.error_code = fault->error_code;
        event.address = fault->vector == arch::vector::page_fault ? arch::read_cr2() : 0;
    }
    switch (kind) {
    case sys::EventKind::exited: log("process '%s' (0x%lx) exited with status %lu", p.name, p.endpoint(), status); break;
    case sys::EventKind::killed: log("process '%s' (0x%lx) killed", p.name, p.endpoint()); break;
    case sys::EventKind::aborted: log("process '%s' (0x%lx) aborted", p.name, p.endpoint()); break;
    case sys::EventKind::faulted:
        log("process '%s' (0x%lx) faulted: %s %s at rip=0x%lx addr=0x%lx error=0x%lx", p.name, p.endpoint(),
            arch::exception_mnemonic(event.vector), arch::exception_name(event.vector), event.rip, event.address,
            event.error_code);
        break;
    }

    p.state = sys::ProcessState::stopped;
    ipc_process_died(p);
    shared_memory_process_died(p);
    devices_process_died(p);
    drop_address_space();
    p.space.destroy();
    if (&p == g_rs)
        log("rs has ended: nothing will restart processes any more");
    post_event(event);
    core_state(arch::current_cpu_index()).dead = &p.thread;
    schedule();
    panic("an exited thread was scheduled again");
}

void reap_thread(Thread& thread)
{
    Process& p = *thread.process;
    (void)memory::frames().free_contiguous(arch::virt_to_phys(reinterpret_cast<void*>(thread.stack_base)),
                                           kernel_stack_size / page_size);
    thread.stack_base = thread.stack_top = 0;
    p.state = sys::ProcessState::free;
}

namespace {

// Gets `target` to the point where it returns to user mode soon, so that a
// pending kill or crash takes effect: a blocked process leaves what it waits
// in (its system call fails), one running on another core is interrupted.
void interrupt_process(Process& target)
{
    if (target.state == sys::ProcessState::blocked) {
        if (target.wait == Wait::send) {
            if (Process* peer = process_for(target.ipc_peer)) {
                for (Process** link = &peer->senders; *link != nullptr; link = &(*link)->next_sender) {
                    if (*link == &target) {
                        *link = target.next_sender;
                        break;
                    }
                }
            }
        }
        target.awaiting_reply = false;
        target.ipc_result = error_code(Error::dead_endpoint);
        make_ready(target);
    } else if (target.state == sys::ProcessState::running && target.thread.core != arch::current_cpu_index()) {
        arch::lapic::send_ipi(arch::cpu(target.thread.core).apic_id, arch::vector::ipi_wakeup);
    }
}

} // namespace

void request_kill(Process& target)
{
    target.kill_pending = true;
    interrupt_process(target);
}

void request_crash(Process& target, sys::CrashKind kind)
{
    target.crash_pending = true;
    target.crash_kind = kind;
    interrupt_process(target);
}

void before_user_return(arch::InterruptFrame& frame)
{
    for (;;) {
        Process* p = current_process();
        if (p == nullptr)
            return;
        if (p->kill_pending)
            exit_current(sys::EventKind::killed, 0, nullptr);
        if (p->crash_pending) {
            // Crash injection: make the process itself fault (or hang) for real.
            p->crash_pending = false;
            frame.rip = p->crash_kind == sys::CrashKind::hang ? AddressSpace::crash_page : 0;
        }
        if (!core_state(arch::current_cpu_index()).need_resched)
            return;
        schedule();
    }
}

void user_exception(arch::InterruptFrame& frame)
{
    lock_kernel();
    exit_current(sys::EventKind::faulted, 0, &frame);
}

void interrupted_user_mode(arch::InterruptFrame& frame)
{
    lock_kernel();
    before_user_return(frame);
    unlock_kernel();
}

void wake_expired_timers(uint64_t now)
{
    for (Process& p : g_processes) {
        if (!p.alive())
            continue;
        if (p.state == sys::ProcessState::blocked && p.wait == Wait::sleep && p.wake_time_ns <= now) {
            p.ipc_result = 0;
            make_ready(p);
        }
        if (p.alarm_time_ns != 0 && p.alarm_time_ns <= now) {
            p.alarm_time_ns = 0;
            post_notification(p, KernelSource::clock);
        }
    }
}

bool next_kernel_event(sys::KernelEvent& out)
{
    if (g_event_count == 0)
        return false;
    out = g_events[g_event_head];
    g_event_head = (g_event_head + 1) % max_events;
    --g_event_count;
    return true;
}

} // namespace kernel
