#!/usr/bin/env bash
# tools/setup.sh - make this Debian 12 machine ready to build, run and test Tern.
#
#  1. Installs the Debian packages Tern needs (only the missing ones).
#  2. Fetches lwIP 2.1.3 from Debian's source package `lwip`, verifies it and
#     unpacks it into third_party/lwip/ (git-ignored; never committed).
#
# Safe to run again and again: when everything is present it finishes in well
# under a second and touches nothing. Works without a terminal or stdin (CI).
# Run `tools/setup.sh --help` for the options.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)

# --- what we need -------------------------------------------------------------
PACKAGES=(
    qemu-system-x86        # the emulator that boots the ISO
    grub-pc-bin            # GRUB for BIOS boot   (grub-mkrescue)
    grub-efi-amd64-bin     # GRUB for UEFI boot   (grub-mkrescue)
    grub-common            # grub-mkrescue itself
    xorriso                # ISO writer used by grub-mkrescue
    mtools                 # EFI system partition image inside the ISO
    ovmf                   # UEFI firmware for QEMU (--uefi)
    cmake
    ninja-build
    g++
    libgtest-dev           # GoogleTest for the host unit tests
    libbenchmark-dev       # Google Benchmark for the host benchmarks (./tern bench)
    libboost-dev           # boost::lockfree::spsc_queue, the baseline in ./tern bench channels
    python3                # tools/qemu.py and the integration tests
    iproute2               # network namespaces / tap devices in tests
    iputils-ping           # ping from the test namespace (tap.* tests, ./tern bench net)
    curl                   # fetches httpd's status page (sock.http_status)
    dpkg-dev               # dpkg-source, to unpack the lwIP source package
    debian-archive-keyring # verifies the Debian archive that serves lwIP
    gpgv                   # used by apt to check the archive signature
)

LWIP_SOURCE_PACKAGE=lwip
LWIP_UPSTREAM_VERSION=2.1.3
DEFAULT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Locations. The TERN_* overrides exist for the tests in tests/tools/.
THIRD_PARTY=${TERN_THIRD_PARTY_DIR:-$ROOT/third_party}
LWIP_DIR=$THIRD_PARTY/lwip              # unpacked, patched source tree
LWIP_DIST=$THIRD_PARTY/lwip-dist        # the .dsc and tarballs it came from
STAMP=$LWIP_DIR/.tern-verified
APT_WORK=${TERN_APT_DIR:-$ROOT/build/apt}   # private apt lists/cache (disposable)

# --- output helpers -------------------------------------------------------------
QUIET=0
if [[ -t 2 && -z ${NO_COLOR:-} ]]; then
    C_RED=$'\e[31m' C_OFF=$'\e[0m'
else
    C_RED='' C_OFF=''
fi
say()  { [[ $QUIET == 1 ]] || printf 'setup: %s\n' "$*"; }
note() { printf 'setup: %s\n' "$*" >&2; }          # shown even with --quiet
die()  { printf '%ssetup: error:%s %s\n' "$C_RED" "$C_OFF" "$*" >&2; exit 1; }
show_log() {  # show_log FILE: print the tail of a log so a failure explains itself
    [[ -s $1 ]] || return 0
    printf -- '----- last lines of %s -----\n' "$1" >&2
    tail -n 25 "$1" >&2
    printf -- '-----\n' >&2
}

usage() {
    cat <<EOF
Usage: tools/setup.sh [option]

Without an option: install the missing Debian packages, then fetch, verify
and unpack lwIP ${LWIP_UPSTREAM_VERSION} into third_party/lwip/. Idempotent and fast when
everything is already there.

Options:
  --quiet          print nothing unless something is done or goes wrong
  --check          only report what is missing (exit 1 if anything is)
  --packages-only  only install the Debian packages
  --lwip-only      only fetch/verify/unpack lwIP (needs no root)
  --verify-lwip    re-check third_party/lwip against its stamp and the kept
                   .dsc/tarballs in third_party/lwip-dist/ (no network, no
                   changes; exit 1 on any mismatch)
  --print-archive  print the Debian archive URI and keyring that lwIP would be
                   fetched from (derived from the system's apt sources)
  -h, --help       this text

Packages: ${PACKAGES[*]}

lwIP comes from Debian's source package '${LWIP_SOURCE_PACKAGE}' through apt-get source, with a
private sources list and private apt lists/cache under build/apt/; the system's
apt configuration is not changed. The deb-src line is derived from the Debian
archive that /etc/apt already uses for the running release.
Environment: TERN_DEBIAN_ARCHIVE=URI and TERN_DEBIAN_KEYRING=FILE override
that derivation.
EOF
}

# --- 1. Debian packages ----------------------------------------------------------
missing_packages() {   # prints the missing package names, one per line
    local status=() line name abbrev p
    # One dpkg-query call for all packages; unknown ones are simply absent.
    mapfile -t status < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    declare -A ok=()
    for line in "${status[@]}"; do
        name=${line%% *}
        abbrev=${line#* }
        # second letter 'i' = installed; third letter blank = no error flag
        if [[ ${abbrev:1:1} == i && ${abbrev:2:1} != R ]]; then ok[$name]=1; fi
    done
    for p in "${PACKAGES[@]}"; do
        [[ -n ${ok[$p]:-} ]] || printf '%s\n' "$p"
    done
}

apt_install_command() {   # the exact command a human would type
    printf 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s' "$*"
}

ensure_packages() {
    local missing=()
    mapfile -t missing < <(missing_packages)
    if (( ${#missing[@]} == 0 )); then
        say "all ${#PACKAGES[@]} Debian packages are installed"
        return 0
    fi
    note "missing Debian packages: ${missing[*]}"

    local -a sudo=()
    if (( EUID != 0 )); then
        if ! command -v sudo >/dev/null 2>&1; then
            die "installing packages needs root and 'sudo' is not available.
  Run this as root, then run ./tern again:
    $(apt_install_command "${missing[@]}")"
        fi
        # No password-less sudo and no terminal to ask on (CI, cron): say what to run.
        if ! sudo -n true 2>/dev/null && ! { : </dev/tty; } 2>/dev/null; then
            die "installing packages needs root; sudo wants a password but there is no terminal.
  Run this as root, then run ./tern again:
    $(apt_install_command "${missing[@]}")"
        fi
        note "not root: using sudo to install them (you may be asked for your password)"
        sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
    fi

    local -a apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
    note "running apt-get update"
    if ! "${sudo[@]}" apt-get "${apt_opts[@]}" -q update </dev/null; then
        die "'apt-get update' failed (see the apt messages above). Check the network and /etc/apt/sources.list*, then retry."
    fi
    note "installing: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get "${apt_opts[@]}" -q -y \
            --no-install-recommends install "${missing[@]}" </dev/null; then
        die "apt-get could not install: ${missing[*]}
  (see the apt messages above). To retry by hand, as root:
    $(apt_install_command "${missing[@]}")"
    fi
    mapfile -t missing < <(missing_packages)
    (( ${#missing[@]} == 0 )) || die "still missing after apt-get install: ${missing[*]}"
    note "Debian packages installed"
}

# --- 2. lwIP: where does Debian's archive live on this machine? ------------------
os_codename() {
    local f=${TERN_OS_RELEASE:-/etc/os-release} line
    [[ -r $f ]] || die "cannot read $f to find the Debian release"
    line=$(grep -E '^VERSION_CODENAME=' "$f" | tail -n 1 || true)
    line=${line#VERSION_CODENAME=}
    line=${line//\"/}
    line=${line//\'/}
    [[ -n $line ]] || die "$f has no VERSION_CODENAME; is this Debian 12 (bookworm)?"
    printf '%s\n' "$line"
}

# Candidates "URI<TAB>signed-by" from one-line style files (sources.list, *.list)
# whose suite is exactly the release codename and that carry 'main'.
candidates_oneline() {  # FILE CODENAME
    awk -v cn="$2" '
    {
        line = $0; sub(/#.*/, "", line)
        n = split(line, t, " ")
        if (n < 3 || (t[1] != "deb" && t[1] != "deb-src")) next
        i = 2; signed = ""
        if (substr(t[2], 1, 1) == "[") {
            opts = ""
            for (; i <= n; i++) { opts = opts " " t[i]; if (t[i] ~ /\]$/) { i++; break } }
            gsub(/[][]/, " ", opts)
            m = split(opts, o, " ")
            for (k = 1; k <= m; k++)
                if (tolower(o[k]) ~ /^signed-by=/) signed = substr(o[k], 11)
        }
        if (i + 2 > n) next
        uri = t[i]; suite = t[i + 1]; main = 0
        for (k = i + 2; k <= n; k++) if (t[k] == "main") main = 1
        if (suite == cn && main && uri !~ /^cdrom:/) print uri "\t" signed
    }' "$1"
}

# Same, for deb822 style files (*.sources).
candidates_deb822() {  # FILE CODENAME
    awk -v cn="$2" '
    function has(list, word,    a, n, k) {
        n = split(list, a, " "); for (k = 1; k <= n; k++) if (a[k] == word) return 1; return 0
    }
    function flush(    n, u, k) {
        if (f["uris"] != "" && tolower(f["enabled"]) != "no" &&
            (has(f["types"], "deb") || has(f["types"], "deb-src")) &&
            has(f["suites"], cn) && has(f["components"], "main")) {
            n = split(f["uris"], u, " ")
            for (k = 1; k <= n; k++)
                if (u[k] !~ /^cdrom:/) print u[k] "\t" (multiline["signed-by"] ? "" : f["signed-by"])
        }
        delete f; delete multiline; key = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^#/       { next }
    /^[ \t]/   { if (key != "") { multiline[key] = 1; f[key] = f[key] " " $0 } next }
    {
        p = index($0, ":"); if (p == 0) next
        key = tolower(substr($0, 1, p - 1)); val = substr($0, p + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", val)
        f[key] = val
    }
    END { flush() }' "$1"
}

# Sets ARCHIVE_URI, ARCHIVE_KEYRING, CODENAME.
derive_archive() {
    CODENAME=$(os_codename)
    local sl sp
    sl=${TERN_APT_SOURCES_LIST:-}
    sp=${TERN_APT_SOURCES_PARTS:-}
    if [[ -z $sl || -z $sp ]]; then
        # Ask apt where the system's sources live (respects a custom Dir::Etc).
        local SL='' SP=''
        eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d)"
        sl=${sl:-${SL:-/etc/apt/sources.list}}
        sp=${sp:-${SP:-/etc/apt/sources.list.d}}
    fi
    local -a cands=()
    local f
    if [[ -f $sl ]]; then mapfile -t -O "${#cands[@]}" cands < <(candidates_oneline "$sl" "$CODENAME"); fi
    for f in "${sp%/}"/*.list; do
        if [[ -f $f ]]; then mapfile -t -O "${#cands[@]}" cands < <(candidates_oneline "$f" "$CODENAME"); fi
    done
    for f in "${sp%/}"/*.sources; do
        if [[ -f $f ]]; then mapfile -t -O "${#cands[@]}" cands < <(candidates_deb822 "$f" "$CODENAME"); fi
    done

    local signed=''
    if [[ -n ${TERN_DEBIAN_ARCHIVE:-} ]]; then
        ARCHIVE_URI=$TERN_DEBIAN_ARCHIVE
    elif (( ${#cands[@]} > 0 )); then
        ARCHIVE_URI=${cands[0]%%$'\t'*}
        signed=${cands[0]#*$'\t'}
    else
        die "no Debian archive for release '$CODENAME' (suite '$CODENAME', component 'main') found in
  $sl or $sp/*.list|*.sources.
  Add your Debian mirror there, or set TERN_DEBIAN_ARCHIVE=<archive URI> for this run."
    fi
    ARCHIVE_URI=${ARCHIVE_URI%/}
    if [[ -n ${TERN_DEBIAN_KEYRING:-} ]]; then
        ARCHIVE_KEYRING=$TERN_DEBIAN_KEYRING
    elif [[ -n $signed && $signed != *,* && -f $signed ]]; then
        ARCHIVE_KEYRING=$signed
    else
        ARCHIVE_KEYRING=$DEFAULT_KEYRING   # inline key, fingerprints, or nothing given
    fi
    [[ -f $ARCHIVE_KEYRING ]] || die "keyring $ARCHIVE_KEYRING not found (install debian-archive-keyring)"
}

# --- 2b. lwIP: checks ---------------------------------------------------------------
# dsc_checksums DSC: "sha256 size name" for each file listed in Checksums-Sha256.
dsc_checksums() {
    awk '/^Checksums-Sha256:/ { on = 1; next }
         on && /^[ \t]/      { print $1, $2, $3; next }
         on                  { exit }' "$1"
}

dsc_field() {  # dsc_field DSC FIELD
    awk -v f="$2" 'index($0, f ":") == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$1"
}

# Hash and size of FILE against expected values; sets VERIFY_ERR on mismatch.
check_file() {  # check_file FILE SHA256 SIZE
    local file=$1 want=$2 size=$3 got
    if [[ ! -f $file ]]; then VERIFY_ERR="missing file $file"; return 1; fi
    if [[ -n $size && $(stat -c %s "$file") != "$size" ]]; then
        VERIFY_ERR="size mismatch for $(basename "$file"): expected $size bytes, found $(stat -c %s "$file")"
        return 1
    fi
    got=$(sha256sum "$file"); got=${got%% *}
    if [[ $got != "$want" ]]; then
        VERIFY_ERR="SHA-256 checksum mismatch for $(basename "$file"): expected $want, got $got"
        return 1
    fi
}

# Every file the .dsc lists must be in DIR with the SHA-256 and size the .dsc gives.
verify_dsc_files() {  # verify_dsc_files DIR DSC
    local dir=$1 dsc=$2 sum size name n=0
    while read -r sum size name; do
        if [[ $name == */* || -z $name ]]; then VERIFY_ERR="bad file name '$name' in $(basename "$dsc")"; return 1; fi
        check_file "$dir/$name" "$sum" "$size" || return 1
        n=$((n + 1))
    done < <(dsc_checksums "$dsc")
    (( n > 0 )) || { VERIFY_ERR="$(basename "$dsc") lists no Checksums-Sha256 files"; return 1; }
}

version_ok() { [[ $1 == "$LWIP_UPSTREAM_VERSION"[+-]* || $1 == "$LWIP_UPSTREAM_VERSION" ]]; }

# Digest over every file of the unpacked tree (names and contents), stamp excluded.
tree_digest() {  # tree_digest DIR
    (cd "$1" && find . -type f ! -path ./.tern-verified -print0 | LC_ALL=C sort -z \
        | xargs -0r sha256sum | sha256sum | cut -d' ' -f1)
}

header_version() {  # header_version TREE -> "2.1.3"
    local h=$1/src/include/lwip/init.h
    [[ -f $h ]] || return 1
    # (lwIP's headers have CRLF line ends)
    tr -d '\r' <"$h" | awk '/^#define LWIP_VERSION_MAJOR[ \t]/    { ma = $3 }
         /^#define LWIP_VERSION_MINOR[ \t]/    { mi = $3 }
         /^#define LWIP_VERSION_REVISION[ \t]/ { re = $3 }
         END { if (ma == "" || mi == "" || re == "") exit 1; print ma "." mi "." re }'
}

stamp_get() { awk -v k="$1" -F= '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$STAMP"; }

# The kept distribution files are intact (the .dsc matches the hash apt's signed
# index gave when it was fetched, recorded in SOURCE) and match the .dsc.
verify_dist() {
    VERIFY_ERR=''
    local rec=$LWIP_DIST/SOURCE dsc want
    [[ -f $rec ]] || { VERIFY_ERR="no $rec (lwIP was never fetched)"; return 1; }
    dsc=$(awk -F= '$1 == "dsc" { print $2 }' "$rec")
    want=$(awk -F= '$1 == "dsc_sha256" { print $2 }' "$rec")
    [[ -n $dsc && -n $want ]] || { VERIFY_ERR="$rec is incomplete"; return 1; }
    check_file "$LWIP_DIST/$dsc" "$want" '' || return 1
    verify_dsc_files "$LWIP_DIST" "$LWIP_DIST/$dsc" || return 1
    DIST_DSC=$dsc DIST_DSC_SHA256=$want
}

# Full check of the unpacked tree: stamp, kept files, tree digest, version header.
verify_lwip() {
    VERIFY_ERR=''
    [[ -d $LWIP_DIR ]] || { VERIFY_ERR="$LWIP_DIR does not exist"; return 1; }
    [[ -f $STAMP ]] || { VERIFY_ERR="no stamp $STAMP (unpacking was not completed)"; return 1; }
    local dsc dsc_sum tree_want tree_got hv
    dsc=$(stamp_get dsc); dsc_sum=$(stamp_get dsc_sha256); tree_want=$(stamp_get tree_sha256)
    [[ -n $dsc && -n $dsc_sum && -n $tree_want ]] || { VERIFY_ERR="stamp $STAMP is incomplete"; return 1; }
    verify_dist || return 1
    if [[ $DIST_DSC != "$dsc" || $DIST_DSC_SHA256 != "$dsc_sum" ]]; then
        VERIFY_ERR="stamp names $dsc ($dsc_sum) but $LWIP_DIST holds $DIST_DSC ($DIST_DSC_SHA256)"
        return 1
    fi
    version_ok "$(dsc_field "$LWIP_DIST/$dsc" Version)" ||
        { VERIFY_ERR="$dsc is not lwIP $LWIP_UPSTREAM_VERSION"; return 1; }
    local must
    for must in src/core/tcp.c src/core/udp.c src/core/ipv4/ip4.c src/include/lwip/init.h; do
        [[ -f $LWIP_DIR/$must ]] || { VERIFY_ERR="unpacked tree lacks $must"; return 1; }
    done
    hv=$(header_version "$LWIP_DIR") || { VERIFY_ERR="cannot read the version from src/include/lwip/init.h"; return 1; }
    [[ $hv == "$LWIP_UPSTREAM_VERSION" ]] ||
        { VERIFY_ERR="src/include/lwip/init.h says lwIP $hv, expected $LWIP_UPSTREAM_VERSION"; return 1; }
    tree_got=$(tree_digest "$LWIP_DIR")
    [[ $tree_got == "$tree_want" ]] ||
        { VERIFY_ERR="files under $LWIP_DIR differ from what was unpacked (tree digest $tree_got, stamp says $tree_want)"; return 1; }
    VERIFIED_VERSION=$(stamp_get version)
}

# --- 2c. lwIP: fetch and unpack -----------------------------------------------------
TEMP_DIRS=()
cleanup() { local d; for d in "${TEMP_DIRS[@]}"; do rm -rf -- "$d"; done; return 0; }
trap cleanup EXIT

apt_private() {   # apt-get with a private sources list, lists, cache and preferences
    apt-get -q \
        -o Dir::Etc::sourcelist="$APT_WORK/etc/sources.list" \
        -o Dir::Etc::sourceparts="$APT_WORK/etc/sources.list.d" \
        -o Dir::Etc::preferences="$APT_WORK/etc/preferences" \
        -o Dir::Etc::preferencesparts="$APT_WORK/etc/preferences.d" \
        -o Dir::State::Lists="$APT_WORK/lists" \
        -o Dir::Cache="$APT_WORK/cache" \
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
        -o Acquire::Languages=none \
        -o APT::Get::Only-Source=true \
        "$@" </dev/null
}

fetch_lwip() {
    derive_archive
    for tool in apt-get dpkg-source sha256sum; do
        command -v "$tool" >/dev/null || die "'$tool' is missing; run tools/setup.sh without --lwip-only first"
    done
    mkdir -p "$APT_WORK/etc/sources.list.d" "$APT_WORK/etc/preferences.d" \
             "$APT_WORK/lists/partial" "$APT_WORK/cache/archives/partial"
    printf '# Written by tools/setup.sh from the system apt configuration; used only to fetch lwIP.\n%s\n' \
        "deb-src [signed-by=$ARCHIVE_KEYRING] $ARCHIVE_URI $CODENAME main" > "$APT_WORK/etc/sources.list"
    local log=$APT_WORK/fetch.log
    : > "$log"

    note "fetching lwIP: Debian source package '$LWIP_SOURCE_PACKAGE' from $ARCHIVE_URI ($CODENAME main)"
    if ! apt_private update >>"$log" 2>&1; then
        show_log "$log"
        die "apt-get update (private lists in $APT_WORK) failed; is $ARCHIVE_URI reachable?"
    fi

    local tmp
    tmp=$(mktemp -d "$APT_WORK/download.XXXXXX"); TEMP_DIRS+=("$tmp")
    chmod 755 "$tmp"
    # As root apt downloads as the unprivileged user _apt; let it write here.
    if (( EUID == 0 )) && id -u _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi

    # The hashes apt takes from the signed Sources index.
    local uris
    if ! uris=$(cd "$tmp" && apt_private source --print-uris "$LWIP_SOURCE_PACKAGE" 2>>"$log"); then
        show_log "$log"
        die "the archive at $ARCHIVE_URI has no source package '$LWIP_SOURCE_PACKAGE' for $CODENAME"
    fi
    local -A index_hash=() index_size=()
    local dsc='' q name size hash
    while read -r q name size hash; do
        [[ $q == \'* ]] || continue
        index_size[$name]=$size
        index_hash[$name]=$hash
        if [[ $name == *.dsc ]]; then dsc=$name; fi
    done <<<"$uris"
    [[ -n $dsc ]] || { printf '%s\n' "$uris" >>"$log"; show_log "$log"; die "apt did not offer a .dsc for '$LWIP_SOURCE_PACKAGE'"; }
    local version=${dsc#"${LWIP_SOURCE_PACKAGE}_"}; version=${version%.dsc}
    version_ok "$version" ||
        die "Debian's '$LWIP_SOURCE_PACKAGE' for $CODENAME is version $version, but Tern needs lwIP $LWIP_UPSTREAM_VERSION (Debian 12 'bookworm' ships 2.1.3+dfsg1)"

    if ! (cd "$tmp" && apt_private source --download-only "$LWIP_SOURCE_PACKAGE=$version") >>"$log" 2>&1; then
        show_log "$log"
        die "downloading the '$LWIP_SOURCE_PACKAGE' $version source package failed"
    fi

    # Explicit verification, independent of apt's own:
    # (a) each downloaded file against the hash from the signed index,
    for name in "${!index_hash[@]}"; do
        hash=${index_hash[$name]}
        case $hash in
            SHA256:*) VERIFY_ERR=''; check_file "$tmp/$name" "${hash#SHA256:}" "${index_size[$name]}" ||
                          die "downloaded file does not match the archive index: $VERIFY_ERR" ;;
            SHA512:*) local got; got=$(sha512sum "$tmp/$name"); got=${got%% *}
                      [[ $got == "${hash#SHA512:}" ]] || die "SHA-512 mismatch for downloaded $name" ;;
            *) die "apt gave no SHA-256/512 hash for $name ($hash); refusing to trust it" ;;
        esac
    done
    # (b) the .dsc names the expected package and version,
    [[ $(dsc_field "$tmp/$dsc" Source) == "$LWIP_SOURCE_PACKAGE" ]] || die "$dsc is not the '$LWIP_SOURCE_PACKAGE' source package"
    [[ $(dsc_field "$tmp/$dsc" Version) == "$version" ]] || die "$dsc does not describe version $version"
    # (c) every tarball against the SHA-256 listed in the .dsc.
    VERIFY_ERR=''
    verify_dsc_files "$tmp" "$tmp/$dsc" || die "lwIP download failed verification: $VERIFY_ERR"

    local dsc_sha256; dsc_sha256=$(sha256sum "$tmp/$dsc"); dsc_sha256=${dsc_sha256%% *}
    local newdist; newdist=$(mktemp -d "$THIRD_PARTY/.lwip-dist.XXXXXX"); TEMP_DIRS+=("$newdist")
    chmod 755 "$newdist"
    local sum
    while read -r sum size name; do mv -- "$tmp/$name" "$newdist/"; done < <(dsc_checksums "$tmp/$dsc")
    mv -- "$tmp/$dsc" "$newdist/"
    chown -R "$(id -u):$(id -g)" "$newdist"
    {
        printf 'package=%s\nversion=%s\ndsc=%s\ndsc_sha256=%s\n' "$LWIP_SOURCE_PACKAGE" "$version" "$dsc" "$dsc_sha256"
        printf 'archive=%s %s main\nfetched=%s\n' "$ARCHIVE_URI" "$CODENAME" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } > "$newdist/SOURCE"
    rm -rf -- "$LWIP_DIST"
    mv -- "$newdist" "$LWIP_DIST"
    note "verified $dsc (sha256 $dsc_sha256) and its tarballs"
}

unpack_lwip() {   # from the verified files in $LWIP_DIST
    local x log
    x=$(mktemp -d "$THIRD_PARTY/.lwip-unpack.XXXXXX"); TEMP_DIRS+=("$x")
    log=$x.log; TEMP_DIRS+=("$log")
    # dpkg-source checks the .dsc checksums again and applies Debian's patches.
    if ! dpkg-source --no-copy -x "$LWIP_DIST/$DIST_DSC" "$x/lwip" >"$log" 2>&1; then
        show_log "$log"
        die "dpkg-source could not unpack $LWIP_DIST/$DIST_DSC"
    fi
    local tree version
    tree=$(tree_digest "$x/lwip")
    version=$(dsc_field "$LWIP_DIST/$DIST_DSC" Version)
    {
        printf '# Written by tools/setup.sh after verifying lwIP; checked by tools/setup.sh --verify-lwip.\n'
        printf 'package=%s\nversion=%s\ndsc=%s\ndsc_sha256=%s\ntree_sha256=%s\n' \
            "$LWIP_SOURCE_PACKAGE" "$version" "$DIST_DSC" "$DIST_DSC_SHA256" "$tree"
    } > "$x/lwip/.tern-verified"
    chmod 755 "$x/lwip"
    rm -rf -- "$LWIP_DIR"
    mv -- "$x/lwip" "$LWIP_DIR"
    note "unpacked lwIP $version into ${LWIP_DIR#"$ROOT"/}"
}

ensure_lwip() {
    if verify_lwip; then
        say "lwIP $VERIFIED_VERSION verified in ${LWIP_DIR#"$ROOT"/}"
        return 0
    fi
    local why=$VERIFY_ERR
    mkdir -p "$THIRD_PARTY"
    exec 9>"$THIRD_PARTY/.setup.lock"
    flock -w 900 9 || die "another tools/setup.sh holds $THIRD_PARTY/.setup.lock"
    if verify_lwip; then   # another run may have finished it meanwhile
        say "lwIP $VERIFIED_VERSION verified in ${LWIP_DIR#"$ROOT"/}"
        return 0
    fi
    if [[ -d $LWIP_DIR || -d $LWIP_DIST ]]; then note "lwIP needs repair: $why"; fi
    # leftovers of an interrupted run
    rm -rf -- "$THIRD_PARTY"/.lwip-unpack.* "$THIRD_PARTY"/.lwip-dist.* "$APT_WORK"/download.*
    if verify_dist; then
        note "re-unpacking lwIP from the kept files in ${LWIP_DIST#"$ROOT"/}"
    else
        if [[ -d $LWIP_DIST ]]; then note "kept lwIP files unusable ($VERIFY_ERR); downloading again"; fi
        fetch_lwip
        verify_dist || die "lwIP files failed verification right after download: $VERIFY_ERR"
    fi
    unpack_lwip
    verify_lwip || die "lwIP failed verification right after unpacking: $VERIFY_ERR"
    note "lwIP $VERIFIED_VERSION ready in ${LWIP_DIR#"$ROOT"/}"
    exec 9>&-
}

# --- main ---------------------------------------------------------------------------
mode=all
for arg in "$@"; do
    case $arg in
        --quiet|-q)      QUIET=1 ;;
        --check)         mode=check ;;
        --packages-only) mode=packages ;;
        --lwip-only)     mode=lwip ;;
        --verify-lwip)   mode=verify ;;
        --print-archive) mode=archive ;;
        -h|--help)       usage; exit 0 ;;
        *) printf 'setup: unknown option: %s\n\n' "$arg" >&2; usage >&2; exit 2 ;;
    esac
done

case $mode in
    all)
        ensure_packages
        ensure_lwip
        ;;
    packages)
        ensure_packages
        ;;
    lwip)
        ensure_lwip
        ;;
    verify)
        if verify_lwip; then
            printf 'lwIP %s verified: %s matches its stamp, %s (sha256 %s) and its tarballs\n' \
                "$VERIFIED_VERSION" "${LWIP_DIR#"$ROOT"/}" "$DIST_DSC" "$DIST_DSC_SHA256"
        else
            printf '%slwIP verification FAILED:%s %s\n' "$C_RED" "$C_OFF" "$VERIFY_ERR" >&2
            printf 'To repair it, run: tools/setup.sh\n' >&2
            exit 1
        fi
        ;;
    archive)
        derive_archive
        printf '%s\t%s\t%s\n' "$ARCHIVE_URI" "$CODENAME" "$ARCHIVE_KEYRING"
        ;;
    check)
        rc=0
        mapfile -t missing < <(missing_packages)
        if (( ${#missing[@]} )); then
            printf 'missing Debian packages: %s\n' "${missing[*]}"; rc=1
        else
            printf 'all %d Debian packages are installed\n' "${#PACKAGES[@]}"
        fi
        if verify_lwip; then
            printf 'lwIP %s verified\n' "$VERIFIED_VERSION"
        else
            printf 'lwIP not ready: %s\n' "$VERIFY_ERR"; rc=1
        fi
        exit $rc
        ;;
esac
