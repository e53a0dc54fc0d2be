#!/usr/bin/env bash
# Installs what tlszoo needs to build and test: Debian packages, then wolfSSL
# built from Debian's source package (with the legacy protocols the zoo needs)
# into build/deps. Idempotent: a stamp makes a second run instant.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prefix="$top/build/deps"
stamp="$prefix/.stamp"
work="$top/build/wolfssl-src"
# Bump when the configure flags below change, so the stamp is invalidated.
recipe=9

packages=(build-essential pkg-config autoconf automake libtool dpkg-dev
          libyaml-dev check libevent-dev libjansson-dev
          openssl curl gnutls-bin python3 ca-certificates
          clang libclang-rt-14-dev valgrind iproute2)

say() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "not root and no sudo; install as root: apt-get install ${packages[*]}"
    fi
}

missing_packages() {
    local p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || printf '%s\n' "$p"
    done
}

install_packages() {
    local missing
    missing=$(missing_packages)
    [ -z "$missing" ] && return 0
    say "installing Debian packages:" $missing
    as_root apt-get update -q >&2 \
        || die "apt-get update failed (no network?); install by hand: apt-get install" $missing
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q $missing >&2 \
        || die "apt-get install failed; install by hand: apt-get install" $missing
}

# Fetch wolfssl's Debian source without touching the system's apt setup:
# a private sources dir with deb-src lines for bookworm and bookworm-security.
fetch_wolfssl_source() {
    local apt="$top/build/apt" mirror sec
    mkdir -p "$apt/lists/partial" "$apt/sources.list.d" "$work"
    # The system's own Debian mirror, from one-line or deb822 sources.
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
             2>/dev/null | grep -oE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian ' | head -n 1 | tr -d ' ' || true)
    sec=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
          2>/dev/null | grep -oE 'https?://[^ ]+/debian-security/?' | head -n 1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    sec=${sec:-http://deb.debian.org/debian-security}
    cat >"$apt/sources.list.d/src.list" <<SRC
deb-src $mirror bookworm main
deb-src $sec bookworm-security main
SRC
    local opts=(-oDir::Etc::SourceList=/dev/null -oDir::Etc::SourceParts="$apt/sources.list.d"
                -oDir::State::Lists="$apt/lists" -oDir::Cache="$apt/cache"
                -oAPT::Sandbox::User="$(id -un)" -q)
    mkdir -p "$apt/cache/archives/partial"
    if ls "$work"/wolfssl_*.dsc >/dev/null 2>&1 && [ "${TLSZOO_REFETCH:-0}" != 1 ]; then
        say "using the wolfssl source already in $work"
    else
        say "fetching the wolfssl source package index"
        apt-get "${opts[@]}" update >&2 ||
            die "cannot reach Debian's source archive ($mirror). Without network, put the
      wolfssl source package (wolfssl_*.dsc, .orig.tar.gz, .debian.tar.xz, e.g. from
      'apt-get source --download-only wolfssl' on another machine) into $work
      and run 'make' again."
        rm -rf "$work" && mkdir -p "$work"
        # apt-get source picks the highest version among the listed suites.
        (cd "$work" && apt-get "${opts[@]}" source --download-only wolfssl >&2) \
            || die "apt-get source wolfssl failed"
    fi
    rm -rf "$work/src"
    (cd "$work" && dpkg-source -x --no-check ./*.dsc src >&2) || die "dpkg-source failed"
}

build_wolfssl() {
    local src="$work/src"
    say "configuring wolfSSL ($(cd "$work" && ls ./*.dsc))"
    cd "$src"
    [ -x configure ] || ./autogen.sh >&2
    CFLAGS="-O2 -DWOLFSSL_STATIC_RSA -DWOLFSSL_STATIC_DH -DHAVE_EX_DATA -DWOLFSSL_ALT_NAMES -DKEEP_PEER_CERT -DHAVE_SECRET_CALLBACK" \
    ./configure --prefix="$prefix" --enable-static --disable-shared \
        --disable-examples --disable-crypttests --disable-benchmark \
        --enable-tlsv10 --enable-oldtls --enable-sslv3 \
        --enable-des3 --enable-arc4 --enable-nullcipher --enable-camellia \
        --enable-aesccm --enable-dh --enable-ecc --enable-curve25519 --enable-ed25519 \
        --enable-certgen --enable-certreq --enable-certext --enable-keygen \
        --enable-sni --enable-alpn --enable-ocsp --enable-crl --enable-session-ticket \
        --enable-secure-renegotiation --enable-extended-master \
        --enable-opensslextra --enable-opensslall --enable-supportedcurves \
        --enable-sp --enable-sp-asm --enable-intelasm --enable-sp-math-all --enable-intelrand \
        --enable-harden >&2
    say "building wolfSSL"
    make -j"$(nproc)" >&2
    make install >&2
}

main() {
    install_packages
    if [ -f "$prefix/lib/libwolfssl.a" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ]; then
        touch "$stamp" # newer than this script: make need not ask again
        return 0
    fi
    fetch_wolfssl_source
    build_wolfssl
    echo "$recipe" >"$stamp"
    say "ready: wolfSSL in $prefix"
}

main "$@"
