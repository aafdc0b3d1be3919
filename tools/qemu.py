#!/usr/bin/env python3
"""Boot Tern in QEMU -- the one place that knows the QEMU command line.

Interactive use (usually through `./tern run`):

    python3 tools/qemu.py [--iso PATH] [--smp N] [--machine pc|q35] [--memory MiB]
                          [--uefi] [--accel tcg|kvm|auto] [--gdb[=PORT]]
                          [--cmdline ARGS] [--netdev SPEC] [--dry-run] [-- extra qemu args...]

The serial console (COM1) is multiplexed with the QEMU monitor on this terminal
(`-serial mon:stdio`): Ctrl-A X quits, Ctrl-A C switches to the monitor and back.
It also works with stdin/stdout that are not terminals (pipes, CI).

Importable: the integration tests call build_command() and pass their own
serial back end, so both paths boot Tern the same way.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ISO = REPO_ROOT / "build" / "tern.iso"
DEFAULT_KERNEL_ELF = REPO_ROOT / "build" / "kernel" / "kernel.elf"

QEMU_BINARY = "qemu-system-x86_64"
OVMF_FIRMWARE = "/usr/share/ovmf/OVMF.fd"

MACHINES = ("pc", "q35")
ACCELS = ("tcg", "kvm")
DEFAULT_MACHINE = "pc"
DEFAULT_ACCEL = "tcg"
DEFAULT_SMP = 2
DEFAULT_MEMORY_MIB = 512
DEFAULT_GDB_PORT = 1234

# CPU model per accelerator. None = QEMU's default model (qemu64 under TCG).
# KVM: plain `-cpu host` aborts on this kind of host (QEMU cannot set
# MSR_IA32_ARCH_CAPABILITIES), so that feature is masked out.
CPU_MODEL = {
    "tcg": None,
    "kvm": "host,-arch-capabilities",
}

# Exit statuses produced through the isa-debug-exit device: QEMU exits with
# (value << 1) | 1. Status 0 means a triple fault (under -no-reboot) or a
# normal QEMU quit, and is never success.
DEBUG_EXIT_DEVICE = "isa-debug-exit,iobase=0xf4,iosize=0x04"
EXIT_SUCCESS = 33
EXIT_SELFTEST_FAILED = 35
EXIT_KERNEL_FAULT = 37

# GRUB takes extra kernel arguments from the SMBIOS type-1 product name when it
# starts with this prefix.
SMBIOS_CMDLINE_PREFIX = "tern:"

# The e1000's back end: QEMU's user-mode networking (no privileges; the guest
# is 10.0.2.15 behind a NAT, DHCP and the gateway 10.0.2.2 are QEMU's).
DEFAULT_NETDEV = "user,id=net0"


class QemuError(Exception):
    """A problem the user can fix; the message says how."""


def kvm_usable() -> bool:
    """True when /dev/kvm exists and this user may open it read-write."""
    return os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.R_OK | os.W_OK)


def resolve_accel(accel: str) -> str:
    """Map 'auto' to kvm when /dev/kvm is usable, else tcg."""
    if accel == "auto":
        return "kvm" if kvm_usable() else "tcg"
    return accel


def qemu_option_escape(value: str) -> str:
    """Escape a value for QEMU's key=value,key=value option parser (',' -> ',,')."""
    return value.replace(",", ",,")


def smbios_cmdline_option(cmdline: str) -> str:
    """The -smbios argument that hands `cmdline` to GRUB (and so to the kernel)."""
    return "type=1,product=" + qemu_option_escape(SMBIOS_CMDLINE_PREFIX + cmdline)


def build_command(
    iso: Union[str, os.PathLike] = DEFAULT_ISO,
    *,
    smp: int = DEFAULT_SMP,
    machine: str = DEFAULT_MACHINE,
    memory: int = DEFAULT_MEMORY_MIB,
    uefi: bool = False,
    accel: str = DEFAULT_ACCEL,
    gdb_port: Optional[int] = None,
    cmdline: Optional[str] = None,
    netdev: str = DEFAULT_NETDEV,
    kernel: Optional[Union[str, os.PathLike]] = None,
    initrd: Optional[Union[str, os.PathLike]] = None,
    append: Optional[str] = None,
    serial: Optional[str] = "mon:stdio",
    extra_args: Iterable[str] = (),
    qemu: Union[str, Sequence[str]] = QEMU_BINARY,
    ovmf: Union[str, os.PathLike] = OVMF_FIRMWARE,
) -> list[str]:
    """Return the QEMU argv that boots `iso`.

    serial     -- argument of -serial: "mon:stdio" for interactive use; the test
                  harness passes "stdio" (a plain pipe) or "file:PATH".
                  None leaves out -serial entirely (then extra_args must add one).
    gdb_port   -- start the gdb stub on this TCP port and stop the CPU at reset.
    cmdline    -- extra kernel arguments, passed through SMBIOS to GRUB.
    netdev     -- the -netdev value behind the e1000 (its id must be net0):
                  user-mode networking by default; tools/netns.py gives a tap.
    kernel     -- boot this kernel image directly (-kernel) instead of `iso`, with
                  `initrd` (-initrd) and the kernel command line `append` (-append);
                  the same machine otherwise (tools/bench.py's Linux guest).
    qemu       -- QEMU binary, or a command prefix as a list (tests use a stub).
    accel      -- "tcg", "kvm" or "auto" (kvm if /dev/kvm is usable, else tcg).

    Raises ValueError for invalid values. Does not check that files exist;
    see check_environment().
    """
    accel = resolve_accel(accel)
    if machine not in MACHINES:
        raise ValueError(f"machine must be one of {', '.join(MACHINES)}, not {machine!r}")
    if accel not in ACCELS:
        raise ValueError(f"accel must be one of {', '.join(ACCELS)} or auto, not {accel!r}")
    if not isinstance(smp, int) or not 1 <= smp <= 255:
        raise ValueError(f"smp must be an integer from 1 to 255, not {smp!r}")
    if not isinstance(memory, int) or memory < 64:
        raise ValueError(f"memory must be an integer of at least 64 (MiB), not {memory!r}")
    if "id=net0" not in netdev.split(",")[1:]:
        raise ValueError(f"netdev must have id=net0 (the e1000 uses it), not {netdev!r}")
    if kernel is None and (initrd is not None or append is not None):
        raise ValueError("initrd and append need kernel")
    if gdb_port is not None and not 1 <= int(gdb_port) <= 65535:
        raise ValueError(f"gdb port must be from 1 to 65535, not {gdb_port!r}")

    cmd = [qemu] if isinstance(qemu, str) else list(qemu)
    cmd += [
        "-machine", machine,
        "-accel", accel,
    ]
    cpu = CPU_MODEL[accel]
    if cpu:
        cmd += ["-cpu", cpu]
    cmd += [
        "-smp", str(smp),
        "-m", str(memory),
    ]
    if uefi:
        cmd += ["-bios", str(ovmf)]
    if kernel is None:
        cmd += ["-boot", "d", "-cdrom", str(iso)]
    else:
        cmd += ["-kernel", str(kernel)]
        if initrd is not None:
            cmd += ["-initrd", str(initrd)]
        if append is not None:
            cmd += ["-append", append]
    cmd += [
        "-display", "none",
        # Names QEMU's threads ("CPU 0/TCG", ...) for top -H and perf.
        "-name", "tern,debug-threads=on",
        "-no-reboot",
        "-device", DEBUG_EXIT_DEVICE,
        # romfile= drops the e1000's iPXE option ROM: faster boot, no PXE attempts.
        "-netdev", netdev,
        "-device", "e1000,netdev=net0,romfile=",
    ]
    if serial is not None:
        cmd += ["-serial", serial]
    if cmdline:
        cmd += ["-smbios", smbios_cmdline_option(cmdline)]
    if gdb_port is not None:
        cmd += ["-gdb", f"tcp::{int(gdb_port)}", "-S"]
    cmd += list(extra_args)
    return cmd


def check_environment(
    iso: Union[str, os.PathLike],
    *,
    uefi: bool = False,
    accel: str = DEFAULT_ACCEL,
    qemu: Union[str, Sequence[str]] = QEMU_BINARY,
    ovmf: Union[str, os.PathLike] = OVMF_FIRMWARE,
) -> list[str]:
    """Return a list of human-readable problems (empty when ready to boot)."""
    problems = []
    binary = qemu if isinstance(qemu, str) else qemu[0]
    if shutil.which(binary) is None:
        problems.append(f"QEMU not found ({binary}); run ./tern setup to install it")
    if not Path(iso).is_file():
        problems.append(f"ISO not found: {iso}; run ./tern build to build it")
    if uefi and not Path(ovmf).is_file():
        problems.append(f"UEFI firmware not found: {ovmf}; run ./tern setup (Debian package ovmf)")
    if accel == "kvm" and not kvm_usable():
        if os.path.exists("/dev/kvm"):
            problems.append("--accel kvm: /dev/kvm exists but this user cannot open it "
                            "(add yourself to group kvm, or use --accel tcg)")
        else:
            problems.append("--accel kvm: /dev/kvm does not exist (no hardware virtualisation "
                            "here); use --accel tcg")
    return problems


def _positive_int(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tools/qemu.py",
        description="Boot the Tern ISO in QEMU with the serial console on this terminal "
                    "(Ctrl-A X quits, Ctrl-A C toggles the QEMU monitor).",
        epilog="Arguments after `--` are passed to QEMU unchanged, e.g. "
               "`-- -netdev user,id=n1,hostfwd=tcp::5555-:7`.",
    )
    parser.add_argument("--iso", type=Path, default=DEFAULT_ISO,
                        help=f"ISO to boot (default: {DEFAULT_ISO})")
    parser.add_argument("--smp", type=_positive_int, default=DEFAULT_SMP,
                        help=f"number of cores (default: {DEFAULT_SMP})")
    parser.add_argument("--machine", choices=MACHINES, default=DEFAULT_MACHINE,
                        help=f"QEMU machine type (default: {DEFAULT_MACHINE})")
    parser.add_argument("--memory", type=_positive_int, default=DEFAULT_MEMORY_MIB, metavar="MiB",
                        help=f"guest memory in MiB (default: {DEFAULT_MEMORY_MIB})")
    parser.add_argument("--uefi", action="store_true",
                        help=f"boot with UEFI firmware ({OVMF_FIRMWARE}) instead of SeaBIOS")
    parser.add_argument("--accel", choices=ACCELS + ("auto",), default=DEFAULT_ACCEL,
                        help="accelerator: tcg (default, works everywhere), kvm, "
                             "or auto (kvm when /dev/kvm is usable)")
    parser.add_argument("--gdb", nargs="?", type=_port, const=DEFAULT_GDB_PORT, default=None,
                        metavar="PORT",
                        help=f"start the gdb stub (default port {DEFAULT_GDB_PORT}) and wait "
                             "for gdb before running the first instruction")
    parser.add_argument("--cmdline", default=None, metavar="ARGS",
                        help="extra kernel command-line arguments, e.g. 'test=selftest' "
                             "(no ISO rebuild: passed through SMBIOS to GRUB)")
    parser.add_argument("--netdev", default=DEFAULT_NETDEV, metavar="SPEC",
                        help=f"QEMU -netdev behind the e1000, with id=net0 (default: {DEFAULT_NETDEV}; "
                             "e.g. tap,id=net0,ifname=tap0,script=no,downscript=no)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the QEMU command instead of running it")
    return parser


def split_extra(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split argv at the first `--`: (our options, extra QEMU arguments)."""
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def main(argv: Optional[Sequence[str]] = None) -> int:
    ours, extra = split_extra(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(ours)
    accel = resolve_accel(args.accel)
    try:
        cmd = build_command(
            args.iso, smp=args.smp, machine=args.machine, memory=args.memory,
            uefi=args.uefi, accel=accel, gdb_port=args.gdb, cmdline=args.cmdline,
            netdev=args.netdev, serial="mon:stdio", extra_args=extra,
        )
    except ValueError as err:
        print(f"tools/qemu.py: error: {err}", file=sys.stderr)
        return 2

    problems = check_environment(args.iso, uefi=args.uefi, accel=accel)
    if args.dry_run:
        for problem in problems:
            print(f"tools/qemu.py: warning: {problem}", file=sys.stderr)
        print(shlex.join(cmd))
        return 0
    if problems:
        for problem in problems:
            print(f"tools/qemu.py: error: {problem}", file=sys.stderr)
        return 1

    firmware = "UEFI (OVMF)" if args.uefi else "BIOS (SeaBIOS)"
    print(f"tern: booting {args.iso} -- {args.machine}, {args.smp} core(s), {args.memory} MiB, "
          f"{accel}, {firmware}"
          + (f", cmdline '{args.cmdline}'" if args.cmdline else ""), file=sys.stderr)
    if args.gdb is not None:
        elf = os.path.relpath(DEFAULT_KERNEL_ELF)
        print(f"tern: gdb stub on tcp port {args.gdb}; the CPU waits for gdb. Attach with:\n"
              f"        gdb {elf} -ex 'target remote :{args.gdb}'", file=sys.stderr)
        if accel == "kvm":
            print("tern: under KVM use hardware breakpoints (hbreak) for early kernel code",
                  file=sys.stderr)
    if sys.stdin.isatty():
        print("tern: serial console follows; Ctrl-A X quits QEMU, Ctrl-A C toggles the monitor",
              file=sys.stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    try:
        os.execvp(cmd[0], cmd)
    except OSError as err:
        print(f"tools/qemu.py: error: cannot start {cmd[0]}: {err}; run ./tern setup",
              file=sys.stderr)
        return 1
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
