#!/usr/bin/env bash
# tools.tern_cli: ./tern's help and error handling, and shell syntax of the
# tooling scripts. Usage: tern_cli.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: $0 REPO_ROOT}
passed=0 failed=0
ok()  { echo "ok   - $1"; passed=$((passed + 1)); }
bad() { echo "FAIL - $1"; failed=$((failed + 1)); }

for f in tern tools/setup.sh .ci/run; do
    if bash -n "$root/$f"; then ok "bash -n $f"; else bad "bash -n $f"; fi
    if [[ -x $root/$f ]]; then ok "$f is executable"; else bad "$f is not executable"; fi
done

out=$("$root/tern" 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 && $out == *"Ctrl-A X"* && $out == *"target remote"* && $out == *"--uefi"* ]]; then
    ok "./tern with no command prints help (quit key, gdb, UEFI)"
else
    bad "./tern with no command: exit $rc"
fi
for v in run test build bench image setup clean; do
    if [[ $out == *"  $v"* ]]; then ok "help lists '$v'"; else bad "help does not list '$v'"; fi
done

out=$("$root/tern" no-such-command 2>&1) && rc=0 || rc=$?
if [[ $rc == 2 && $out == *'unknown command "no-such-command"'* ]]; then ok "unknown command: exit 2 with a message"; else bad "unknown command: exit $rc: $out"; fi

# ./tern bench: --help lists the benchmarks; bad arguments fail before any build.
out=$("$root/tern" bench --help 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 && $out == *"channels"* && $out == *"ipc"* ]]; then ok "bench --help lists channels and ipc"; else bad "bench --help: exit $rc"; fi
out=$(TERN_SKIP_SETUP=1 "$root/tern" bench no-such-benchmark 2>&1) && rc=0 || rc=$?
if [[ $rc == 2 && $out == *"unknown benchmark"* ]]; then ok "bench: unknown benchmark: exit 2"; else bad "bench no-such-benchmark: exit $rc: $out"; fi
out=$(TERN_SKIP_SETUP=1 "$root/tern" bench 2>&1) && rc=0 || rc=$?
if [[ $rc == 2 && $out == *"channels"* ]]; then ok "bench without a name lists the benchmarks, exit 2"; else bad "bench without a name: exit $rc"; fi
if python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$root/tools/bench.py"; then
    ok "tools/bench.py compiles"
else
    bad "tools/bench.py does not compile"
fi

# bench's --iso and --cmdline reach Tern's QEMU line (a dry run boots nothing).
out=$(python3 "$root/tools/bench.py" stream --dry-run --guest tern --iso /tmp/other.iso --cmdline 'e1000.polling=off' 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 && $out == *"-cdrom /tmp/other.iso"* && $out == *"e1000.polling=off"* ]]; then
    ok "bench --iso and --cmdline reach Tern's QEMU command"
else
    bad "bench --dry-run --iso --cmdline: exit $rc: $out"
fi

out=$("$root/tern" clean --bogus 2>&1) && rc=0 || rc=$?
if [[ $rc != 0 && -d $root/tools ]]; then ok "clean rejects unknown options and deletes nothing"; else bad "clean --bogus: exit $rc"; fi

out=$(bash "$root/tools/setup.sh" --no-such-option 2>&1) && rc=0 || rc=$?
if [[ $rc == 2 && $out == *"Usage"* ]]; then ok "setup.sh: unknown option prints usage"; else bad "setup.sh unknown option: exit $rc"; fi

# The archive is derived from apt's own sources: no URL may be built in.
if grep -Eq '(https?|ftp)://' "$root/tools/setup.sh" "$root/tern"; then
    bad "a URL (mirror) is hard-coded in tools/setup.sh or tern"
else
    ok "no mirror URL is hard-coded"
fi

echo "$passed passed, $failed failed"
(( failed == 0 ))
