#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS (default 60),
# both at once when there are two cores or more: fuzz_hello (ClientHello parser, record
# scanner, JA3/JA4, the event written for the hello) and fuzz_config (scenario loader).
# Fails on any crash, leak, timeout or broken contract, printing the report and the input
# that caused it. Prints, per target, the runs executed and the coverage reached
# (libFuzzer's final cov:/ft: figures).
#
#   tests/fuzz/run.sh [SECONDS]      (CLANG=clang-14 to pick a compiler)
#
# Output under build/fuzz/: the binaries, seeds (generated from tests/unit/fixtures/*.hex and
# scenarios/*.yaml by seeds.py), corpus/<target> (kept between runs, so coverage grows),
# artifacts/ (crashing inputs) and <target>.log. Reproduce a crash with
# build/fuzz/fuzz_<target> build/fuzz/artifacts/<file>.
set -euo pipefail
cd "$(dirname "$0")/../.."

TIME=${1:-60}
CLANG=${CLANG:-clang}
OUT=build/fuzz
WOLFSSL=build/deps/lib/libwolfssl.a
HELLO_SRCS="hello fingerprint record events verdict alert scenario error"
CONFIG_SRCS="config schema yamlwalk scenario reltime alert error"

case $TIME in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
if [ ! -f "$WOLFSSL" ]; then
    echo "fuzz: $WOLFSSL is missing; run 'make deps' first" >&2
    exit 2
fi
if ! command -v "$CLANG" >/dev/null; then
    echo "fuzz: $CLANG not found (apt-get install clang)" >&2
    exit 2
fi

CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra
        -fsanitize=address,undefined -fno-sanitize-recover=all
        -Iserver -Ibuild/deps/include $(pkg-config --cflags yaml-0.1 jansson)"

# ---- build
mkdir -p "$OUT/obj" "$OUT/artifacts"
for src in $(echo $HELLO_SRCS $CONFIG_SRCS | tr ' ' '\n' | sort -u); do
    # shellcheck disable=SC2086
    "$CLANG" $CFLAGS -fsanitize=fuzzer-no-link -c "server/$src.c" -o "$OUT/obj/$src.o"
done
objs() { for s in "$@"; do printf '%s ' "$OUT/obj/$s.o"; done; }
# shellcheck disable=SC2086
"$CLANG" $CFLAGS -fsanitize=fuzzer -o "$OUT/fuzz_hello" tests/fuzz/fuzz_hello.c \
    $(objs $HELLO_SRCS) "$WOLFSSL" $(pkg-config --libs jansson) -lm -lpthread
# shellcheck disable=SC2086
"$CLANG" $CFLAGS -fsanitize=fuzzer -o "$OUT/fuzz_config" tests/fuzz/fuzz_config.c \
    $(objs $CONFIG_SRCS) $(pkg-config --libs yaml-0.1)
rm -rf "$OUT/seeds"
python3 tests/fuzz/seeds.py "$OUT/seeds"
echo "fuzz: built $OUT/fuzz_hello and $OUT/fuzz_config; running each for ${TIME}s"

# ---- run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

start() { # TARGET DICT: starts one fuzzer in the background (its pid in $!)
    mkdir -p "$OUT/corpus/$1"
    rm -f "$OUT/artifacts/$1-"*
    "$OUT/fuzz_$1" "$OUT/corpus/$1" "$OUT/seeds/$1" -dict="tests/fuzz/$2" \
        -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$1-" >"$OUT/$1.log" 2>&1 &
}

report() { # TARGET STATUS
    local log="$OUT/$1.log" final execs
    final=$(grep -E '^#[0-9]+[[:space:]]+DONE[[:space:]]' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$2" -eq 0 ] && [ -n "$final" ]; then
        printf 'ok   fuzz_%-6s %s execs in %ss; %s\n' "$1" "${execs:-?}" "$TIME" \
            "$(echo "$final" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+')"
        return 0
    fi
    printf 'FAIL fuzz_%s (exit %s); the end of %s:\n' "$1" "$2" "$log"
    sed '/Recommended dictionary/,/End of recommended dictionary/d' "$log" |
        grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD|INITED)' | tail -60 |
        cut -c1-400 | sed 's/^/     | /'
    ls "$OUT"/artifacts/"$1"-* 2>/dev/null | sed 's/^/     artifact: /'
    return 1
}

status=0 hello_pid= config_pid= hello_rc=0 config_rc=0
trap 'kill $hello_pid $config_pid 2>/dev/null; exit 130' INT TERM
start hello hello.dict
hello_pid=$!
if [ "$(nproc)" -lt 2 ]; then # one at a time
    wait "$hello_pid" || hello_rc=$?
    hello_pid=
fi
start config yaml.dict
config_pid=$!
if [ -n "$hello_pid" ]; then
    wait "$hello_pid" || hello_rc=$?
fi
wait "$config_pid" || config_rc=$?
report hello "$hello_rc" || status=1
report config "$config_rc" || status=1
exit $status
