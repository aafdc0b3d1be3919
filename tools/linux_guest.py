#!/usr/bin/env python3
"""Build the Linux guest that `./tern bench net` and `stream` compare Tern with.

    python3 tools/linux_guest.py [--update] [--force] [--quiet]

Writes build/linux-guest/vmlinuz and build/linux-guest/initramfs.cpio.gz:
Debian's own kernel (the package that `linux-image-amd64` depends on, e.g.
linux-image-6.1.0-N-amd64) and a small initramfs with

    /init                  tools/linux-guest/init (our script: brings eth0 up,
                           starts the servers, prints `linux-guest: ready ADDR`)
    /bin/busybox           from Debian's busybox-static, plus its applet links
    /bin/udp_echo          tools/linux-guest/udp_echo.c, built here with gcc -static
    /bin/stream_server     tools/linux-guest/stream_server.c (TCP discard 9 and
                           chargen 19), built the same way
    /lib/modules/e1000.ko  the kernel package's e1000 driver (and any module it
                           depends on), listed in /lib/modules/load-order

Boot it with the same QEMU machine as Tern, e.g.
    qemu-system-x86_64 ... -kernel build/linux-guest/vmlinuz \\
        -initrd build/linux-guest/initramfs.cpio.gz \\
        -append 'console=ttyS0 guest_ip=192.168.77.2/24'

Where the packages come from: the same Debian archive that tools/setup.sh uses
for lwIP (`tools/setup.sh --print-archive`, derived from this machine's apt
sources), through apt with a PRIVATE state under build/apt-guest/: its own
sources.list (one binary `deb` line), lists, cache and an empty dpkg status.
`apt-get download` only downloads; nothing is installed on the host and the
system's apt configuration and lists are not touched. apt checks the archive's
Release signature with the keyring setup.sh names, and every .deb against the
SHA-256 in that signed index; this script checks the kept .debs against that
hash again before it uses them.

Caching: the downloaded .debs are kept in build/apt-guest/debs/. Nothing is
built when both outputs are newer than this script and tools/linux-guest/* (init,
udp_echo.c, stream_server.c) and the package versions recorded with them
(build/linux-guest/SOURCE) are still the ones the private index resolves to.
The index is fetched once (`apt-get update`); `--update` fetches it again to pick
up a newer Debian kernel. Runs without the network once everything is there.

Needs apt-get, apt-cache, dpkg-deb and gcc with a static libc (libc6-dev); works
as root or not. Python 3 standard library otherwise (the cpio archive is written
here, in the kernel's `newc` format).
Exit status: 0 done (or up to date), 1 failed (the message says what and how to
fix it), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import json
import lzma
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
OUT_DIR = BUILD / "linux-guest"
VMLINUZ = OUT_DIR / "vmlinuz"
INITRAMFS = OUT_DIR / "initramfs.cpio.gz"
SOURCE_RECORD = OUT_DIR / "SOURCE"
APT_DIR = BUILD / "apt-guest"
DEB_DIR = APT_DIR / "debs"
GUEST_SRC = ROOT / "tools" / "linux-guest"
INIT_SCRIPT = GUEST_SRC / "init"
UDP_ECHO_SOURCE = GUEST_SRC / "udp_echo.c"
STREAM_SERVER_SOURCE = GUEST_SRC / "stream_server.c"
SETUP_SH = ROOT / "tools" / "setup.sh"
INPUTS = (Path(__file__).resolve(), INIT_SCRIPT, UDP_ECHO_SOURCE, STREAM_SERVER_SOURCE)

KERNEL_METAPACKAGE = "linux-image-amd64"
KERNEL_PACKAGE = re.compile(r"linux-image-[0-9][0-9.]*-[0-9]+-amd64")
BUSYBOX_PACKAGE = "busybox-static"
E1000_DIR = "kernel/drivers/net/ethernet/intel/e1000"

# The cpio entries get this fixed time: the same inputs give the same archive.
ARCHIVE_MTIME = 0


class GuestError(Exception):
    """A step failed; the message says which, why and what to do."""


def say(text: str) -> None:
    if not QUIET:
        print(f"linux-guest: {text}", file=sys.stderr, flush=True)


QUIET = False


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the archive and the private apt ---------------------------------------------

@dataclass
class Archive:
    uri: str
    codename: str
    keyring: str


def find_archive() -> Archive:
    """The Debian archive tools/setup.sh derives from the system's apt sources."""
    try:
        result = subprocess.run(["bash", str(SETUP_SH), "--print-archive"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    except OSError as err:
        raise GuestError(f"cannot run {rel(SETUP_SH)}: {err}") from None
    fields = result.stdout.strip().split("\t")
    if result.returncode != 0 or len(fields) != 3 or not all(fields):
        raise GuestError(f"`tools/setup.sh --print-archive` could not name the Debian archive:\n    "
                         + (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"))
    return Archive(*fields)


@dataclass
class Deb:
    package: str
    version: str
    uri: str
    filename: str  # as apt names the downloaded file
    size: int
    sha256: str

    @property
    def path(self) -> Path:
        return DEB_DIR / self.filename


class PrivateApt:
    """apt-get/apt-cache with every state file under build/apt-guest/."""

    def __init__(self, base: Path = APT_DIR):
        self.base = base
        self.log = base / "apt.log"
        self.sources = base / "etc" / "sources.list"
        self.updated = False  # apt-get update ran in this process

    def options(self) -> list[str]:
        b = self.base
        return [
            "-o", f"Dir::Etc::sourcelist={b / 'etc' / 'sources.list'}",
            "-o", f"Dir::Etc::sourceparts={b / 'etc' / 'sources.list.d'}",
            "-o", f"Dir::Etc::preferences={b / 'etc' / 'preferences'}",
            "-o", f"Dir::Etc::preferencesparts={b / 'etc' / 'preferences.d'}",
            "-o", f"Dir::State={b / 'state'}",
            "-o", f"Dir::State::Lists={b / 'lists'}",
            "-o", f"Dir::State::status={b / 'status'}",
            "-o", f"Dir::Cache={b / 'cache'}",
            # (a system may switch these caches off; here they are private and save ~0.3 s a call)
            "-o", "Dir::Cache::pkgcache=pkgcache.bin",
            "-o", "Dir::Cache::srcpkgcache=srcpkgcache.bin",
            "-o", "Acquire::Languages=none",
            "-o", "APT::Architecture=amd64",
            "-o", "APT::Architectures=amd64",
        ]

    def prepare(self) -> None:
        for sub in ("etc/sources.list.d", "etc/preferences.d", "state", "lists/partial",
                    "cache/archives/partial"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        status = self.base / "status"
        if not status.exists():
            status.write_text("")  # nothing is installed, as far as this apt knows

    def run(self, tool: str, args: Sequence[str], what: str, cwd: Optional[Path] = None) -> str:
        """Runs apt-get/apt-cache; returns its standard output. Both streams go to apt.log."""
        cmd = [tool, "-q", *self.options(), *args]
        try:
            result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    stdin=subprocess.DEVNULL, cwd=cwd)
        except OSError as err:
            raise GuestError(f"{what}: cannot run {tool}: {err} (is this Debian with apt?)") from None
        with open(self.log, "a") as log:
            log.write(f"\n$ {' '.join(cmd)}\n{result.stdout}{result.stderr}[exit status {result.returncode}]\n")
        if result.returncode != 0:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-12:]
            raise GuestError(f"{what} failed ({tool} exit status {result.returncode}); it said:\n"
                             + "\n".join(f"    {line}" for line in said)
                             + f"\n  (full output in {rel(self.log)})")
        return result.stdout

    def configure(self, archive: Archive) -> None:
        """Writes the private sources.list (when it differs)."""
        text = ("# Written by tools/linux_guest.py from `tools/setup.sh --print-archive`; used only to\n"
                "# download the Linux guest's kernel and busybox for ./tern bench net.\n"
                f"deb [signed-by={archive.keyring}] {archive.uri} {archive.codename} main\n")
        with contextlib.suppress(OSError):
            if self.sources.read_text() == text:
                return
        self.sources.write_text(text)

    def has_lists(self) -> bool:
        """True when the lists were fetched, successfully, for the current sources.list."""
        with contextlib.suppress(OSError):
            return ((self.base / "lists" / ".tern-sources").read_text() == self.sources.read_text()
                    and any((self.base / "lists").glob("*_Packages*")))
        return False

    def update(self, archive: Archive) -> None:
        say(f"fetching the package index of {archive.uri} {archive.codename} main (private lists in {rel(self.base)}/)")
        marker = self.base / "lists" / ".tern-sources"
        marker.unlink(missing_ok=True)
        try:
            # --error-on=any: a source that cannot be fetched is an error, not a warning.
            self.run("apt-get", ["update", "--error-on=any"], "apt-get update")
        except GuestError as err:
            raise GuestError(f"{err}\n  Could not fetch the index of {archive.uri} ({archive.codename} main): "
                             "is the network up and the archive reachable? Fix that (or set "
                             "TERN_DEBIAN_ARCHIVE=URI for another mirror), then run `python3 tools/linux_guest.py` "
                             "again.") from None
        if not any((self.base / "lists").glob("*_Packages*")):
            raise GuestError(f"apt-get update gave no package list for {archive.uri} {archive.codename} main "
                             f"(see {rel(self.log)})")
        marker.write_text(self.sources.read_text())
        self.updated = True

    def kernel_package(self) -> str:
        """The versioned kernel package that linux-image-amd64 depends on."""
        out = self.run("apt-cache", ["depends", KERNEL_METAPACKAGE],
                       f"resolving {KERNEL_METAPACKAGE} (apt-cache depends)")
        names = [m.group(1) for m in re.finditer(r"^\s*\|?Depends:\s*(\S+)", out, re.M)]
        kernels = sorted({name for name in names if KERNEL_PACKAGE.fullmatch(name)})
        if len(kernels) != 1:
            raise GuestError(f"{KERNEL_METAPACKAGE} does not depend on exactly one linux-image-*-amd64 "
                             f"package (found: {', '.join(kernels) or 'none'}); apt-cache said:\n{out.strip()}")
        return kernels[0]

    def version(self, package: str) -> str:
        out = self.run("apt-cache", ["policy", package], f"looking up the version of {package}")
        match = re.search(r"^\s*Candidate:\s*(\S+)", out, re.M)
        if not match or match.group(1) == "(none)":
            raise GuestError(f"the private index has no installable version of {package}")
        return match.group(1)

    def debs(self, packages: Sequence[str]) -> list[Deb]:
        """What `apt-get download` would fetch: URI, file name, size, SHA-256 from the signed index."""
        versions = {p: self.version(p) for p in packages}
        out = self.run("apt-get", ["download", "--print-uris", *(f"{p}={v}" for p, v in versions.items())],
                       "asking apt for the download addresses")
        found = {}
        for line in out.splitlines():
            match = re.fullmatch(r"'([^']+)'\s+(\S+)\s+(\d+)\s+SHA256:([0-9a-f]{64})\s*", line.strip())
            if not match:
                continue
            uri, filename, size, sha = match.groups()
            package = filename.split("_", 1)[0]
            if package in versions and "/" not in filename:
                found[package] = Deb(package, versions[package], uri, filename, int(size), sha)
        missing = [p for p in packages if p not in found]
        if missing:
            raise GuestError(f"apt offered no SHA-256-checked download for {', '.join(missing)}; it said:\n"
                             + "\n".join(f"    {line}" for line in out.splitlines()[-10:]))
        return [found[p] for p in packages]

    def download(self, debs: Sequence[Deb]) -> None:
        """Downloads into a temporary folder, checks, moves into build/apt-guest/debs/."""
        DEB_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="download.", dir=self.base) as tmp:
            os.chmod(tmp, 0o755)
            if os.geteuid() == 0:
                # As root, apt downloads as the unprivileged user _apt: let it write here.
                with contextlib.suppress(KeyError, OSError):
                    os.chown(tmp, pwd.getpwnam("_apt").pw_uid, -1)
            for deb in debs:
                say(f"downloading {deb.package} {deb.version} ({deb.size / 1e6:.1f} MB)")
            self.run("apt-get", ["download", *(f"{d.package}={d.version}" for d in debs)],
                     "apt-get download " + " ".join(d.package for d in debs), cwd=Path(tmp))
            for deb in debs:
                got = Path(tmp) / deb.filename
                if not got.is_file():
                    raise GuestError(f"apt-get download did not leave {deb.filename} (see {rel(self.log)})")
                if got.stat().st_size != deb.size or sha256_file(got) != deb.sha256:
                    raise GuestError(f"{deb.filename} does not match the SHA-256 and size in the archive's "
                                     "signed index; not using it")
                os.replace(got, deb.path)


# --- caching ----------------------------------------------------------------------

def record(debs: Sequence[Deb], modules: Sequence[str]) -> dict:
    return {"packages": {d.package: {"version": d.version, "file": d.filename, "sha256": d.sha256} for d in debs},
            "modules": list(modules)}


def read_record() -> Optional[dict]:
    try:
        return json.loads(SOURCE_RECORD.read_text())
    except (OSError, ValueError):
        return None


def up_to_date(debs: Sequence[Deb]) -> Optional[str]:
    """None when the outputs must be built again, else a description of them."""
    old = read_record()
    if old is None or old.get("packages") != record(debs, [])["packages"]:
        return None
    try:
        built = min(VMLINUZ.stat().st_mtime, INITRAMFS.stat().st_mtime, SOURCE_RECORD.stat().st_mtime)
        source = max(path.stat().st_mtime for path in INPUTS)
    except OSError:
        return None
    if built <= source:
        return None
    return ", ".join(f"{d.package} {d.version}" for d in debs)


# --- the initramfs ----------------------------------------------------------------

class Cpio:
    """A cpio archive in the kernel's `newc` format (see the kernel's
    Documentation/driver-api/early-userspace/buffer-format.rst), built in memory."""

    MAGIC = "070701"

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.inode = 1
        self.names: set[str] = set()

    @staticmethod
    def _pad(length: int) -> bytes:
        return b"\0" * (-length % 4)

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1, inode: Optional[int] = None) -> None:
        if name != "TRAILER!!!":
            if name in self.names:
                raise ValueError(f"cpio: {name} twice")
            self.names.add(name)
        if inode is None:
            inode = self.inode
            self.inode += 1
        encoded = name.encode() + b"\0"
        fields = [inode, mode, 0, 0, nlink, ARCHIVE_MTIME, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
        header = (self.MAGIC + "".join(f"{value:08x}" for value in fields)).encode()
        self.parts += [header, encoded, self._pad(len(header) + len(encoded)), data, self._pad(len(data))]

    def directory(self, name: str, mode: int = 0o755) -> None:
        self._entry(name, 0o040000 | mode, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def char_device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._entry(name, 0o020000 | mode, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, inode=0)
        return b"".join(self.parts)


def module_depends(data: bytes) -> list[str]:
    """The `depends=` names in a kernel module's .modinfo section."""
    match = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if not match or not match.group(1):
        return []
    return [name.decode() for name in match.group(1).split(b",") if name]


def read_module(path: Path) -> bytes:
    """A .ko as bytes; .ko.xz is decompressed here (busybox insmod takes plain .ko)."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        try:
            data = lzma.decompress(data)
        except lzma.LZMAError as err:
            raise GuestError(f"cannot decompress {path.name}: {err}") from None
    return data


def collect_modules(module_root: Path, first: Path) -> list[tuple[str, bytes]]:
    """`first` and every module it needs, dependencies first: (name.ko, bytes)."""
    index: dict[str, Path] = {}
    for path in module_root.rglob("*.ko*"):
        base = path.name.split(".ko", 1)[0]
        index[base.replace("-", "_")] = path
    ordered: list[tuple[str, bytes]] = []
    seen: set[str] = set()

    def visit(path: Path, chain: tuple[str, ...]) -> None:
        base = path.name.split(".ko", 1)[0]
        if base in seen:
            return
        if base in chain:
            raise GuestError(f"module dependency loop: {' -> '.join(chain + (base,))}")
        data = read_module(path)
        for dep in module_depends(data):
            dep_path = index.get(dep.replace("-", "_"))
            if dep_path is None:
                raise GuestError(f"{path.name} needs the module {dep}, which the kernel package does not ship")
            visit(dep_path, chain + (base,))
        seen.add(base)
        ordered.append((base + ".ko", data))

    visit(first, ())
    return ordered


def compile_static(source: Path, out: Path) -> bytes:
    """One of the guest's C programs, built with gcc -static; returns the binary."""
    say(f"compiling {rel(source)} (gcc -static -O2)")
    cmd = ["gcc", "-static", "-O2", "-s", "-Wall", "-Wextra", "-o", str(out), str(source)]
    try:
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)
    except OSError as err:
        raise GuestError(f"cannot run gcc: {err}; run ./tern setup") from None
    if result.returncode != 0:
        raise GuestError(f"compiling {rel(source)} failed (a static build needs libc6-dev's libc.a):\n"
                         + "\n".join(f"    {line}" for line in result.stdout.strip().splitlines()[-20:]))
    return out.read_bytes()


def unpack(deb: Deb, into: Path) -> None:
    try:
        result = subprocess.run(["dpkg-deb", "-x", str(deb.path), str(into)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    except OSError as err:
        raise GuestError(f"cannot run dpkg-deb: {err}") from None
    if result.returncode != 0:
        raise GuestError(f"dpkg-deb -x {deb.filename} failed: {result.stdout.strip()}")


def only(paths: list[Path], what: str) -> Path:
    if len(paths) != 1:
        raise GuestError(f"expected one {what} in the package, found {len(paths)}: "
                         + ", ".join(p.name for p in paths[:5]))
    return paths[0]


def build(kernel: Deb, busybox: Deb) -> list[str]:
    """Writes vmlinuz and initramfs.cpio.gz; returns the module names loaded."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build.", dir=OUT_DIR) as tmp_name:
        tmp = Path(tmp_name)
        say(f"unpacking {kernel.filename} and {busybox.filename}")
        unpack(kernel, tmp / "kernel")
        unpack(busybox, tmp / "busybox")
        vmlinuz = only(sorted((tmp / "kernel" / "boot").glob("vmlinuz-*")), "boot/vmlinuz-*")
        module_root = only(sorted((tmp / "kernel" / "lib" / "modules").glob("*")), "lib/modules/VERSION")
        e1000 = only(sorted((module_root / E1000_DIR).glob("e1000.ko*")), f"{E1000_DIR}/e1000.ko[.xz]")
        modules = collect_modules(module_root, e1000)
        busybox_binary = tmp / "busybox" / "bin" / "busybox"
        if not busybox_binary.is_file():
            raise GuestError(f"{busybox.filename} holds no bin/busybox")
        udp_echo = compile_static(UDP_ECHO_SOURCE, tmp / "udp_echo")
        stream_server = compile_static(STREAM_SERVER_SOURCE, tmp / "stream_server")

        cpio = Cpio()
        for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp",
                          "lib", "lib/modules", "etc", "root"):
            cpio.directory(directory)
        # The kernel opens /dev/console for /init before anything is mounted.
        cpio.char_device("dev/console", 5, 1)
        cpio.file("init", INIT_SCRIPT.read_bytes(), 0o755)
        cpio.file("bin/busybox", busybox_binary.read_bytes(), 0o755)
        cpio.symlink("bin/sh", "busybox")  # /init's interpreter; /init installs the other applets
        cpio.file("bin/udp_echo", udp_echo, 0o755)
        cpio.file("bin/stream_server", stream_server, 0o755)
        for name, data in modules:
            cpio.file(f"lib/modules/{name}", data)
        cpio.file("lib/modules/load-order", "".join(f"{name}\n" for name, _ in modules).encode())
        cpio.file("etc/linux-guest", (f"kernel {kernel.package} {kernel.version}\n"
                                      f"busybox {busybox.package} {busybox.version}\n").encode())
        archive = gzip.compress(cpio.finish(), compresslevel=9, mtime=ARCHIVE_MTIME)

        # Outputs replace the old ones only when complete; the record comes last.
        SOURCE_RECORD.unlink(missing_ok=True)
        staged_initramfs = tmp / "initramfs.cpio.gz"
        staged_initramfs.write_bytes(archive)
        staged_vmlinuz = tmp / "vmlinuz"
        shutil.copyfile(vmlinuz, staged_vmlinuz)
        os.replace(staged_vmlinuz, VMLINUZ)
        os.replace(staged_initramfs, INITRAMFS)
        names = [name for name, _ in modules]
        SOURCE_RECORD.write_text(json.dumps(record([kernel, busybox], names), indent=2) + "\n")
        say(f"wrote {rel(VMLINUZ)} ({VMLINUZ.stat().st_size / 1e6:.1f} MB, {vmlinuz.name}) and "
            f"{rel(INITRAMFS)} ({len(archive) / 1e6:.1f} MB; modules: {', '.join(names)})")
        return names


# --- the whole job ----------------------------------------------------------------

@contextlib.contextmanager
def locked() -> Iterator[None]:
    APT_DIR.mkdir(parents=True, exist_ok=True)
    with open(APT_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def check_tools() -> None:
    missing = [tool for tool in ("apt-get", "apt-cache", "dpkg-deb", "gcc") if shutil.which(tool) is None]
    if missing:
        raise GuestError(f"missing tools: {', '.join(missing)} (this needs a Debian system with apt and gcc; "
                         "run ./tern setup)")


def ensure(update: bool = False, force: bool = False) -> tuple[Path, Path]:
    """Makes sure both outputs exist and are current; returns (vmlinuz, initramfs)."""
    check_tools()
    with locked():
        apt = PrivateApt()
        apt.prepare()
        apt.log.write_text("")  # this run's apt commands and their output
        archive = find_archive()
        apt.configure(archive)
        if update or not apt.has_lists():
            apt.update(archive)
        try:
            debs = apt.debs([apt.kernel_package(), BUSYBOX_PACKAGE])
        except GuestError:
            if apt.updated:
                raise
            apt.update(archive)  # an index too old or damaged: fetch it once more
            debs = apt.debs([apt.kernel_package(), BUSYBOX_PACKAGE])
        kernel, busybox = debs

        if not force:
            current = up_to_date(debs)
            if current:
                say(f"up to date: {rel(VMLINUZ)}, {rel(INITRAMFS)} ({current})")
                return VMLINUZ, INITRAMFS

        wanted = [d for d in debs if not (d.path.is_file() and d.path.stat().st_size == d.size
                                           and sha256_file(d.path) == d.sha256)]
        if wanted:
            try:
                apt.download(wanted)
            except GuestError as err:
                if apt.updated:
                    raise GuestError(f"{err}\n  Is the network up and {archive.uri} reachable?") from None
                # The index may name files the mirror no longer has (a new point release).
                say("download failed; fetching the index again and retrying")
                apt.update(archive)
                debs = apt.debs([apt.kernel_package(), BUSYBOX_PACKAGE])
                kernel, busybox = debs
                apt.download([d for d in debs if not d.path.is_file() or sha256_file(d.path) != d.sha256])
        keep = {d.filename for d in debs}
        for old in DEB_DIR.glob("*.deb"):
            if old.name not in keep:
                old.unlink()
        build(kernel, busybox)
        return VMLINUZ, INITRAMFS


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tools/linux_guest.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build the Linux guest for `./tern bench net` and `stream`: Debian's kernel (the package "
                    f"{KERNEL_METAPACKAGE} depends on) as {rel(VMLINUZ)}, and an initramfs with busybox-static, "
                    f"the e1000 module, tools/linux-guest/init, a UDP echo server and TCP discard and chargen "
                    f"servers as {rel(INITRAMFS)}.",
        epilog="The packages are downloaded (never installed) with apt, using a private sources list, lists and\n"
               f"cache under {rel(APT_DIR)}/ and the archive `tools/setup.sh --print-archive` names; apt checks\n"
               "them against the archive's signed index. Nothing is done when the outputs are newer than their\n"
               "inputs and the packages are unchanged.")
    p.add_argument("--update", action="store_true",
                   help="fetch the package index again first (picks up a newer Debian kernel)")
    p.add_argument("--force", action="store_true", help="rebuild even when the outputs are up to date")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    global QUIET
    args = make_parser().parse_args(argv)
    QUIET = args.quiet
    try:
        ensure(update=args.update, force=args.force)
    except GuestError as err:
        print(f"linux-guest: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
