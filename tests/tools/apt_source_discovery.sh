#!/usr/bin/env bash
# setup.apt_source_discovery: tools/setup.sh derives the Debian archive for
# lwIP from apt's sources (never a built-in mirror). Uses made-up sources
# files; nothing is fetched. Usage: apt_source_discovery.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: $0 REPO_ROOT}
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
mkdir "$work/parts"
printf 'ID=debian\nVERSION_CODENAME=bookworm\n' > "$work/os-release"
keyring=$work/archive.gpg
: > "$keyring"

passed=0 failed=0
check() {  # check EXPECTED DESCRIPTION
    local got rc=0
    got=$(TERN_OS_RELEASE=$work/os-release TERN_APT_SOURCES_LIST=$work/sources.list \
          TERN_APT_SOURCES_PARTS=$work/parts TERN_DEBIAN_ARCHIVE='' TERN_DEBIAN_KEYRING='' \
          bash "$root/tools/setup.sh" --print-archive 2>&1) || rc=$?
    if [[ $1 == error && $rc != 0 ]] || [[ $rc == 0 && $got == "$1" ]]; then
        echo "ok   - $2"; passed=$((passed + 1))
    else
        echo "FAIL - $2: wanted '$1', got (exit $rc) '$got'"; failed=$((failed + 1))
    fi
}

cat > "$work/sources.list" <<LIST
# deb http://commented.example.invalid/debian bookworm main
deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb http://security.example.invalid/debian-security bookworm-security main
deb http://contrib.example.invalid/debian bookworm contrib
LIST
check error "no usable entry: clear error"

cat > "$work/parts/a.sources" <<SRC
Types: deb
URIs: http://disabled.example.invalid/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: http://deb822.example.invalid/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: $keyring
SRC
check "http://deb822.example.invalid/debian	bookworm	$keyring" "deb822 entry with Signed-By file"

cat > "$work/parts/a.sources" <<'SRC'
Types: deb deb-src
URIs: http://inline.example.invalid/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 AAAA
 -----END PGP PUBLIC KEY BLOCK-----
SRC
check "http://inline.example.invalid/debian	bookworm	/usr/share/keyrings/debian-archive-keyring.gpg" \
      "deb822 entry with an inline key falls back to the archive keyring"

echo "deb [ arch=amd64 signed-by=$keyring ] http://oneline.example.invalid/debian bookworm main non-free" >> "$work/sources.list"
check "http://oneline.example.invalid/debian	bookworm	$keyring" "one-line entry with options in sources.list comes first"

printf 'ID=debian\nVERSION_CODENAME=trixie\n' > "$work/os-release"
check error "other release: no entry for it"

echo "$passed passed, $failed failed"
(( failed == 0 ))
