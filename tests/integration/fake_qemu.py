#!/usr/bin/env python3
"""A stand-in for qemu-system-x86_64, used only by the harness self-tests.

Usage: fake_qemu.py --fake-mode MODE [--fake-pid-file PATH] <QEMU arguments...>

It checks that the QEMU arguments look like what tools/qemu.py builds for the
harness (serial on stdio, isa-debug-exit, -no-reboot, ...), prints Tern-style
serial lines for the -smp core count on stdout, and then, per MODE:
  pass            all lines incl. `selftest: passed`, exit 33
  triple-fault    the same lines, exit 0 (a triple fault under -no-reboot)
  hang            the same lines, then never exit
  exception       an `EXCEPTION #PF` report, exit 33
  exception-hang  an `EXCEPTION #PF` report, then never exit
  missing-line    no `all N cores online` line, exit 33
  selftest-failed `selftest: FAILED`, exit 35
  pagefault       an `EXCEPTION #PF` report, exit 37 (what test=pagefault should do)
  tern            what the kernel should do for its command line: test=pagefault ->
                  pagefault, otherwise pass (lets the CTest wiring be checked without a
                  kernel: cmake -DTERN_TEST_QEMU="python3 .../fake_qemu.py --fake-mode tern")
Bad arguments: message on stderr, exit 1 (like QEMU).
"""

import os
import signal
import sys
import time

MODES = ("pass", "triple-fault", "hang", "exception", "exception-hang", "missing-line",
         "selftest-failed", "pagefault", "tern")
START = time.monotonic()


def say(text: str) -> None:
    stamp = time.monotonic() - START
    sys.stdout.write(f"[{int(stamp):05d}.{int(stamp * 1e6) % 1000000:06d}] {text}\r\n")
    sys.stdout.flush()


def option(args, name):
    """Value of the last `name VALUE` pair in args, or None."""
    value = None
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            value = args[i + 1]
    return value


def fail(message: str) -> None:
    print(f"fake_qemu: {message}", file=sys.stderr)
    sys.exit(1)


def hang() -> None:
    while True:
        signal.pause()


def main() -> None:
    argv = sys.argv[1:]
    mode, pid_file = None, None
    while argv and argv[0].startswith("--fake-"):
        if argv[0] == "--fake-mode" and len(argv) > 1:
            mode, argv = argv[1], argv[2:]
        elif argv[0] == "--fake-pid-file" and len(argv) > 1:
            pid_file, argv = argv[1], argv[2:]
        else:
            fail(f"bad fake option {argv[0]}")
    if mode not in MODES:
        fail(f"--fake-mode must be one of {', '.join(MODES)}")
    if pid_file:
        with open(pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")

    # What the harness must always pass.
    for needed in (["-serial", "stdio"], ["-no-reboot"], ["-display", "none"],
                   ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"], ["-boot", "d"]):
        n = len(needed)
        if not any(argv[i:i + n] == needed for i in range(len(argv))):
            fail(f"missing argument {' '.join(needed)}")
    if "mon:stdio" in argv:
        fail("the harness must not use mon:stdio")
    if not os.path.isfile(option(argv, "-cdrom") or ""):
        fail("-cdrom file missing")
    try:
        stdin_ok = os.fstat(0).st_rdev == os.stat("/dev/null").st_rdev
    except OSError:
        stdin_ok = False
    if not stdin_ok:
        fail("stdin is not /dev/null")
    smp = int(option(argv, "-smp") or "1")
    product = option(argv, "-smbios") or ""
    cmdline = ""
    if product.startswith("type=1,product=tern:"):
        cmdline = product[len("type=1,product=tern:"):].replace(",,", ",")

    if mode == "tern":
        mode = "pagefault" if "test=pagefault" in cmdline.split() else "pass"

    print("\x1b[2J\x1b[01;01HWelcome to fake firmware", end="\r\n", flush=True)
    say(f"tern: kernel command line '{cmdline}'")
    say("memory: 497 MiB usable")
    say("pci 00:03.0 8086:100e class 02.00 e1000")
    for cpu in range(smp):
        say(f"cpu {cpu} online")
    if mode != "missing-line":
        say(f"all {smp} cores online")
    if mode in ("exception", "exception-hang", "pagefault"):
        say("EXCEPTION #PF page fault on cpu 0")
        say("  error=0x0000000000000002 cr2=0x0000000000000000")
        say("  rip=0xffffffff80001234")
        if mode == "exception-hang":
            hang()
        sys.exit(37 if mode == "pagefault" else 33)
    if mode == "selftest-failed":
        say("selftest: FAILED frame allocator")
        sys.exit(35)
    say("selftest: passed (12 checks)")
    sys.stdout.write("partial last line without newline")
    sys.stdout.flush()
    if mode == "hang":
        hang()
    sys.exit(0 if mode == "triple-fault" else 33)


if __name__ == "__main__":
    main()
