// C++ start-up for ring-3 programs. crt0.S enters here with the kernel's
// start-up registers untouched: the command line (a NUL-terminated string on
// the user stack) and rs's endpoint. We split the command line into argv, run
// the static constructors, call main() and exit with its status.
#include <cstdint>

#include "runtime/assert.hpp"
#include "runtime/cmdline_args.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[], __init_array_end[];

// Static destructors never run: a process ends with exit, and the kernel frees
// all it had.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void __cxa_pure_virtual() { tern::panic("pure virtual function called"); }
}

int main(int argc, char** argv);

namespace {

constexpr size_t max_args = 32;
char g_arg_storage[512];
char* g_argv[max_args + 1];
tern::sys::Endpoint g_rs_endpoint;

} // namespace

tern::sys::Endpoint tern::rs_endpoint() { return g_rs_endpoint; }

extern "C" [[noreturn]] void tern_runtime_start(const char* cmdline, uint64_t rs)
{
    g_rs_endpoint = rs;
    const size_t argc = tern::split_args(cmdline, g_arg_storage, sizeof(g_arg_storage), g_argv, max_args + 1);
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c)
        (*c)();
    tern::sys::exit(main(static_cast<int>(argc), g_argv));
}
