// In-kernel self-checks (test=selftest): exercise what boot set up, on the
// real (or emulated) machine, and print one line per check.
#pragma once

namespace kernel {

// Returns true if every check passed.
bool run_selftest();

} // namespace kernel
