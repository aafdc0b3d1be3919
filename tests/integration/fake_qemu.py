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
  shell           boot lines, then a shell on the serial port like apps/sh: prompt
                  `tern> ` (no newline), echo, commands ps, cores, uptime, crash NAME,
                  poweroff (exit 33), `noisy` (the next empty line's prompt is followed
                  on its line by a driver message, as when one prints just then) and
                  `slow` (answers after 0.5 s, and exits 1 if any
                  input arrives meanwhile: a harness that does not wait for the next
                  prompt is caught). Needs stdin to be a pipe; every other mode needs
                  /dev/null. At the end of input it hangs, as QEMU would.
  tern            what the kernel should do for its command line: test=pagefault ->
                  pagefault, test=processes -> shell, otherwise pass (lets the CTest
                  wiring be checked without a kernel:
                  cmake -DTERN_TEST_QEMU="python3 .../fake_qemu.py --fake-mode tern")
Bad arguments: message on stderr, exit 1 (like QEMU).
"""

import os
import select
import signal
import stat
import sys
import time

MODES = ("pass", "triple-fault", "hang", "exception", "exception-hang", "missing-line",
         "selftest-failed", "pagefault", "shell", "tern")
START = time.monotonic()
NOISE = [False]  # `noisy`: a message right after the prompt of the next empty line


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


def out(text: str) -> None:
    """Serial output as the kernel sends it: \\n becomes \\r\\n."""
    sys.stdout.write(text.replace("\n", "\r\n"))
    sys.stdout.flush()


def shell_command(line: str, smp: int) -> None:
    words = line.split()
    if not words:
        return
    name = words[0]
    if name == "ps":
        out("SLOT  ENDPOINT   NAME             CORE  STATE    RESTARTS    CPU(ms)   SYSCALLS\n"
            "   0  0x10000    rs                  0  blocked         0        2.6         15\n"
            "   1  0x10001    sh                  0  running         0        2.2          6\n")
    elif name == "cores":
        for core in range(smp):
            out(f"core {core}: online (apic {core}), busy 4.6% since boot, 0.2% over the last 106 ms\n")
    elif name == "uptime":
        out(f"up {time.monotonic() - START:.3f} s\n")
    elif name == "crash" and len(words) > 1:
        out(f"crash: no service '{words[1]}' running\n")
    elif name == "noisy":
        NOISE[0] = True
        out("armed\n")
    elif name == "slow":
        out("working\n")
        ready, _, _ = select.select([0], [], [], 0.5)
        if ready:
            out("fake_qemu: input arrived while busy\n")
            sys.exit(1)
        out("done\n")
    elif name == "poweroff":
        out("poweroff: switching off\n")
        sys.exit(33)
    else:
        out(f"sh: unknown command '{name}' (try help)\n")


def shell(smp: int) -> None:
    """The serial shell: echo, CR / LF / CR LF ends a line, a prompt after each command."""
    out("sh: Tern shell; type help for the commands\ntern> ")
    line, after_cr = "", False
    while True:
        data = os.read(0, 4096)
        if not data:
            hang()  # serial input closed; QEMU would keep running
        for byte in data:
            c = chr(byte)
            if c == "\n" and after_cr:
                after_cr = False
                continue
            after_cr = c == "\r"
            if c in "\r\n":
                out("\n")
                shell_command(line, smp)
                if line == "" and NOISE[0]:
                    # Another process's message lands right after this prompt
                    # (one write: the harness never sees the bare prompt).
                    NOISE[0] = False
                    out("tern> e1000: polling (1 frames/s)\n")
                else:
                    out("tern> ")
                line = ""
            elif " " <= c <= "~":
                line += c
                out(c)


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
    smp = int(option(argv, "-smp") or "1")
    product = option(argv, "-smbios") or ""
    cmdline = ""
    if product.startswith("type=1,product=tern:"):
        cmdline = product[len("type=1,product=tern:"):].replace(",,", ",")

    if mode == "tern":
        words = cmdline.split()
        mode = "pagefault" if "test=pagefault" in words else "shell" if "test=processes" in words else "pass"
    # Serial input: a pipe for the shell (the harness's conversation), else nothing.
    try:
        stdin_stat = os.fstat(0)
        stdin_null = stdin_stat.st_rdev == os.stat("/dev/null").st_rdev and stat.S_ISCHR(stdin_stat.st_mode)
        stdin_pipe = stat.S_ISFIFO(stdin_stat.st_mode)
    except OSError:
        stdin_null = stdin_pipe = False
    if mode == "shell" and not stdin_pipe:
        fail("stdin is not a pipe (the shell needs serial input)")
    if mode != "shell" and not stdin_null:
        fail("stdin is not /dev/null")

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
    if mode == "shell":
        say("tern: ready")
        shell(smp)
    say("selftest: passed (12 checks)")
    sys.stdout.write("partial last line without newline")
    sys.stdout.flush()
    if mode == "hang":
        hang()
    sys.exit(0 if mode == "triple-fault" else 33)


if __name__ == "__main__":
    main()
