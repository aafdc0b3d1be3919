#!/usr/bin/env bash
# setup.lwip_fetch_verified: lwIP in third_party/lwip is the verified Debian
# source of lwIP 2.1.3. Usage: lwip_fetch_verified.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: $0 REPO_ROOT}
fail() { echo "FAIL: $*"; echo "(run tools/setup.sh to fetch or repair lwIP)"; echo "0 passed, 1 failed"; exit 1; }

# 1. Stamp, kept .dsc, tarball checksums and the unpacked tree all agree.
bash "$root/tools/setup.sh" --verify-lwip || fail "tools/setup.sh --verify-lwip"

# 2. Independently of setup.sh: the version header says 2.1.3.
h=$root/third_party/lwip/src/include/lwip/init.h
[[ -f $h ]] || fail "$h is missing"
v=$(tr -d '\r' <"$h" | awk '$1 == "#define" && $2 == "LWIP_VERSION_MAJOR"    { a = $3 }
                            $1 == "#define" && $2 == "LWIP_VERSION_MINOR"    { b = $3 }
                            $1 == "#define" && $2 == "LWIP_VERSION_REVISION" { c = $3 }
                            END { print a "." b "." c }')
[[ $v == 2.1.3 ]] || fail "lwip/init.h says version '$v', expected 2.1.3"
echo "lwip/init.h: version $v"

# 3. The core files the tcp/udp/ip servers build from are there.
for f in src/core/tcp.c src/core/tcp_in.c src/core/tcp_out.c src/core/udp.c \
         src/core/ipv4/ip4.c src/core/pbuf.c src/include/lwip/opt.h; do
    [[ -f $root/third_party/lwip/$f ]] || fail "third_party/lwip/$f is missing"
done
echo "1 passed, 0 failed"
