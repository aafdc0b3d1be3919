// The smallest ring-3 program: proves the user toolchain (start-up code,
// static constructors, linker script) and rides in the ISO as a boot module.
// It runs once the kernel can start processes.
namespace {
struct Greeting {
    const char* text;
    Greeting() : text("hello from ring 3") {}
};
Greeting g_greeting; // exercises the static-constructor path
} // namespace

int main()
{
    volatile const char* text = g_greeting.text;
    return text[0] == 'h' ? 0 : 1;
}
