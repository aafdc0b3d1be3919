// The smallest ring-3 program: proves the user runtime (start-up code, argv,
// static constructors, console output) and rides in the ISO as a boot module.
// Prints its command line as one line, e.g.
//   hello from ring 3: hello core=1 one two
#include "runtime/print.hpp"

namespace {
struct Greeting {
    const char* text;
    Greeting() : text("hello from ring 3:") {}
};
Greeting g_greeting; // exercises the static-constructor path
} // namespace

int main(int argc, char** argv)
{
    tern::PrintBuffer line; // one console_write for the whole line
    line.append("%s", g_greeting.text);
    for (int i = 0; i < argc; ++i)
        line.append(" %s", argv[i]);
    line.append("\n");
    return 0;
}
