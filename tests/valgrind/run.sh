#!/usr/bin/env bash
# A short serve-and-connect session under valgrind (memcheck): one worker, every kind of
# ending a connection can have (completed, client alert, server alert, malformed, truncated,
# timeout, still open at shutdown), a SIGHUP reload in the middle, then SIGTERM. Passes when
# tlszoo exits 0, memcheck reports no error and no definite or indirect leak, and every
# client got the event it should. Needs valgrind, curl, openssl and python3.
#
#   tests/valgrind/run.sh          ($TLSZOO picks the binary; default ./tlszoo)
#
# wolfSSL is built with --enable-sp-asm --enable-intelasm (AES-NI, AVX); memcheck follows
# that code without false positives here, so no suppressions file is needed.
set -uo pipefail  # no -e: every check runs, and counts
cd "$(dirname "$0")/../.."

TLSZOO=${TLSZOO:-./tlszoo}
tmp=$(mktemp -d /tmp/tlszoo-valgrind.XXXXXX)
certs=$tmp/certs
vg_pid=
passed=0
failed=0

cleanup() {
    if [ -n "$vg_pid" ] && kill -0 "$vg_pid" 2>/dev/null; then
        kill -KILL "$vg_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM PIPE  # so that cleanup runs on these too

check() { # OK LABEL [DETAIL]
    if [ "$1" = 0 ]; then
        passed=$((passed + 1))
        echo "ok   $2"
    else
        failed=$((failed + 1))
        echo "FAIL $2"
        [ -z "${3:-}" ] || printf '%s\n' "$3" | tail -30 | sed 's/^/     | /'
    fi
}

for tool in valgrind curl openssl python3; do
    command -v "$tool" >/dev/null || { echo "valgrind: $tool is missing" >&2; exit 2; }
done
[ -x "$TLSZOO" ] || { echo "valgrind: $TLSZOO is missing; run make" >&2; exit 2; }

# Ports: every scenario port moved by an offset that keeps them under the kernel's ephemeral
# range (32768 up), where other programs' outgoing connections come and go.
bases=$(sed -n 's/^listen: *//p' scenarios/*.yaml)
ports_free() { # OFFSET: whether serve could listen on every port (it sets SO_REUSEADDR)
    python3 - "$1" $bases <<'EOF'
import socket, sys
offset = int(sys.argv[1])
for base in sys.argv[2:]:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(base) + offset))
EOF
}
port() { # SCENARIO
    echo $(($(sed -n 's/^listen: *//p' "scenarios/$1.yaml") + offset))
}
connects() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start; ready when every leaf is minted and the last scenario's port answers (ports open
# first). That probe is one "closed" event. A port taken meanwhile: another offset.
probe_events=0
for attempt in 1 2 3 4 5; do
    offset=$((RANDOM % 8000 + 15000))
    ports_free "$offset" 2>/dev/null || continue
    valgrind --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 \
        --log-file="$tmp/valgrind.log" \
        "$TLSZOO" serve --scenarios scenarios --certs "$certs" --port-offset "$offset" \
        --events "$tmp/events.jsonl" --control-port off --workers 1 \
        --handshake-timeout 3 --idle-timeout 2 --grace 2 >"$tmp/serve.log" 2>&1 &
    vg_pid=$!
    for _ in $(seq 600); do
        kill -0 "$vg_pid" 2>/dev/null || break
        if [ -f "$certs/leaf/wrong-host.chain.pem" ] && connects "$(port wrong-host)"; then
            probe_events=1
            break
        fi
        sleep 0.1
    done
    [ $probe_events = 1 ] && break
    wait "$vg_pid"
    vg_pid=
    grep -q "Address already in use" "$tmp/serve.log" || break
done
if [ $probe_events = 0 ]; then
    echo "valgrind: tlszoo did not come up (attempt $attempt):"
    tail -n 20 "$tmp/serve.log" "$tmp/valgrind.log"
    exit 1
fi

url() { echo "https://$1.tlszoo.localhost:$(port "$1")/"; }
resolve() { echo "$1.tlszoo.localhost:$(port "$1"):127.0.0.1"; }
curl_to() { # SCENARIO [ARGS]
    local s=$1
    shift
    curl -sS --max-time 20 --cacert "$certs/ca.pem" --resolve "$(resolve "$s")" "$@" "$(url "$s")"
}
raw() { # SCENARIO PYTHON-BYTES-EXPR CLOSE(shut|wait): sends, then waits for the server's end
    python3 - "$(port "$1")" "$2" "$3" <<'EOF'
import socket, sys
port, data, how = int(sys.argv[1]), eval(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(data)
if how == "shut":
    s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
EOF
}
hello_hex=$(tr -d ' \n' <tests/unit/fixtures/curl.hex)

out=$(curl_to valid 2>&1) && [[ $out == *"scenario 'valid'"* ]]
check $? "curl completes against valid" "$out"
rc=0; out=$(curl_to expired 2>&1) || rc=$?
[ $rc = 60 ] && [[ $out == *"certificate has expired"* ]]
check $? "curl refuses expired (exit 60)" "exit $rc: $out"
rc=0; out=$(openssl s_client -connect "127.0.0.1:$(port sni-strict)" -noservername -brief \
    -CAfile "$certs/ca.pem" </dev/null 2>&1) || rc=$?
[ $rc != 0 ] && [[ $out == *"unrecognized name"* ]]
check $? "openssl without SNI gets unrecognized_name from sni-strict" "$out"
out=$(curl_to mtls-required --cert "$certs/client.pem" --key "$certs/client.key" 2>&1)
check $? "curl with the client certificate completes against mtls-required" "$out"
rc=0; out=$(openssl s_client -connect "127.0.0.1:$(port tls10-only)" -tls1_2 -brief \
    -servername tls10-only.tlszoo.localhost -CAfile "$certs/ca.pem" </dev/null 2>&1) || rc=$?
[ $rc != 0 ] && [[ $out == *"unsupported protocol"* ]]
check $? "openssl -tls1_2 refuses tls10-only's TLS 1.0" "$out"
raw valid 'b"\x00garbage" * 8' wait
check $? "garbage is cut off"
raw valid 'b"GET / HTTP/1.1\r\nHost: valid\r\n\r\n"' wait
check $? "HTTP on a TLS port is cut off"
raw expired "bytes.fromhex('$hello_hex')[:100]" shut
check $? "a truncated hello then FIN is cut off"

kill -HUP "$vg_pid" # reload: a new generation of workers; the old one retires
sleep 3
out=$(curl_to valid 2>&1)
check $? "curl completes after SIGHUP" "$out"
raw not-yet-valid 'b""' wait
check $? "a silent client is cut off at the handshake timeout"

# One connection still open when SIGTERM comes: the grace period has to end it.
python3 - "$(port valid)" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(bytes.fromhex("16030100"))  # a record header, cut short
time.sleep(15)
EOF
holder=$!
sleep 1
kill -TERM "$vg_pid"
rc=0
wait "$vg_pid" || rc=$?
vg_pid=
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

summary=$(grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost" \
    "$tmp/valgrind.log" || true)
[ $rc = 0 ]
check $? "tlszoo exits 0 under valgrind after SIGTERM (exit $rc; 99 = memcheck errors)" \
    "$(cat "$tmp/valgrind.log")"
grep -q "ERROR SUMMARY: 0 errors" "$tmp/valgrind.log"
check $? "memcheck: no errors, no definite or indirect leaks" "$(cat "$tmp/valgrind.log")"
echo "$summary" | sed 's/^==[0-9]*== */     /'

# Every client got its event: scenario and result, in order of arrival.
got=$(python3 - "$tmp/events.jsonl" "$probe_events" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(" ".join(f'{e["scenario"]}:{e["outcome"]["result"]}' for e in events[int(sys.argv[2]):]))
EOF
)
want="valid:completed expired:client_alert sni-strict:server_alert mtls-required:completed"
want+=" tls10-only:client_alert valid:malformed valid:malformed expired:malformed"
want+=" valid:completed not-yet-valid:timeout valid:closed"
[ "$got" = "$want" ]
check $? "one event per client, with the right outcome" "want: $want
got:  $got"

echo "$passed passed, $failed failed"
[ $failed = 0 ]
