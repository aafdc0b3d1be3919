// C++ start-up for ring-3 programs: run global constructors, then main().
// There is no exit system call yet (it comes with processes): a program that
// returns from main stops on an invalid-opcode fault, which the kernel will
// report as the process's end.
extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[], __init_array_end[];
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
}

int main();

extern "C" [[noreturn]] void tern_runtime_start()
{
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c)
        (*c)();
    main();
    __builtin_trap();
}
