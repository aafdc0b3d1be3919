#!/usr/bin/env bash
# setup.lwip_tamper_detected: tools/setup.sh --verify-lwip notices every kind of
# change, on a private copy of third_party/. No network is used.
# Usage: lwip_tamper_detected.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: $0 REPO_ROOT}
setup=$root/tools/setup.sh
[[ -d $root/third_party/lwip && -d $root/third_party/lwip-dist ]] ||
    { echo "FAIL: lwIP not fetched; run tools/setup.sh"; echo "0 passed, 1 failed"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
export TERN_THIRD_PARTY_DIR=$work/tp TERN_APT_DIR=$work/apt
# Make sure nothing here can reach a mirror: a repair that tried would fail.
export TERN_DEBIAN_ARCHIVE=file:///nonexistent/tern-test

passed=0 failed=0
fresh_copy() { rm -rf -- "$work/tp"; mkdir -p "$work/tp"; cp -a "$root/third_party/lwip" "$root/third_party/lwip-dist" "$work/tp/"; }
expect() {  # expect ok|fail|REGEX DESCRIPTION  -- runs --verify-lwip
    local want=$1 what=$2 out rc=0
    out=$(bash "$setup" --verify-lwip 2>&1) || rc=$?
    if [[ $want == ok && $rc == 0 ]] || [[ $want != ok && $rc != 0 && $out =~ $want ]]; then
        echo "ok   - $what"; passed=$((passed + 1))
    else
        echo "FAIL - $what (exit $rc, wanted $want):"; echo "$out" | sed 's/^/       /'; failed=$((failed + 1))
    fi
}

fresh_copy
expect ok "an untouched copy verifies"

orig=$(ls "$work"/tp/lwip-dist/*.orig.tar.*)
printf '\xff' | dd of="$orig" bs=1 seek=4096 conv=notrunc status=none
expect 'checksum mismatch' "one changed byte in the orig tarball is caught"

fresh_copy
printf 'x' >> "$(ls "$work"/tp/lwip-dist/*.debian.tar.*)"
expect 'size mismatch' "a longer debian tarball is caught"

fresh_copy
sed -i 's/^Version: .*/Version: 2.1.3+other/' "$work"/tp/lwip-dist/*.dsc
expect 'checksum mismatch' "an edited .dsc is caught"

fresh_copy
rm "$work"/tp/lwip-dist/*.debian.tar.*
expect 'missing file' "a missing tarball is caught"

fresh_copy
echo '/* changed */' >> "$work/tp/lwip/src/core/tcp.c"
expect 'differ from what was unpacked' "an edited source file is caught"
if bash "$setup" --lwip-only --quiet >"$work/repair.log" 2>&1; then
    expect ok "setup repairs an edited tree from the kept files, offline"
else
    echo "FAIL - setup could not repair the edited tree:"; sed 's/^/       /' "$work/repair.log"; failed=$((failed + 1))
fi

fresh_copy
touch "$work/tp/lwip/src/core/new_file.c"
expect 'differ from what was unpacked' "an added file is caught"

fresh_copy
rm "$work/tp/lwip/.tern-verified"
expect 'no stamp' "a missing stamp (interrupted unpack) is caught"

fresh_copy
rm -rf "$work/tp/lwip"
expect 'does not exist' "a missing tree is caught"

echo "$passed passed, $failed failed"
(( failed == 0 ))
