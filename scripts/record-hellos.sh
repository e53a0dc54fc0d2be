#!/usr/bin/env bash
# Records the first flight (the ClientHello) of real TLS clients as hex fixtures for the
# hello and fingerprint unit tests, and a pcap of the same connections so tshark's JA3 can
# cross-check ours. Only 127.0.0.1 traffic; every step has a bounded timeout.
#
# usage: scripts/record-hellos.sh [OUTDIR]   (default tests/unit/fixtures; needs root or
#        capture rights for dumpcap; tshark: apt-get install tshark)
set -euo pipefail

OUT=${1:-tests/unit/fixtures}
BASE=${HELLO_PORT_BASE:-18440}
CLIENTS=(openssl-tls12 openssl-tls13 curl gnutls python)
WORK=$(mktemp -d)
CAP_PID=""

cleanup() {
    if [[ -n "$CAP_PID" ]] && kill -0 "$CAP_PID" 2>/dev/null; then
        kill -INT "$CAP_PID" 2>/dev/null || true
        wait "$CAP_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in openssl curl gnutls-cli python3 dumpcap tshark timeout; do
    command -v "$tool" >/dev/null || { echo "record-hellos: $tool not found" >&2; exit 1; }
done
mkdir -p "$OUT"

# One-shot listener: accepts one connection, reads records until the first handshake
# message is complete, writes the bytes of those records as hex, then closes.
cat >"$WORK/listen.py" <<'EOF'
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
srv.settimeout(10)
open(path + ".ready", "w").close()
conn, _ = srv.accept()
conn.settimeout(5)
data, msg, end = b"", b"", 0
while True:
    while len(data) - end >= 5 and len(data) - end - 5 >= int.from_bytes(data[end+3:end+5], "big"):
        n = int.from_bytes(data[end+3:end+5], "big")
        msg += data[end+5:end+5+n]
        end += 5 + n
    if len(msg) >= 4 and len(msg) >= 4 + int.from_bytes(msg[1:4], "big"):
        break
    chunk = conn.recv(65536)
    if not chunk:
        sys.exit("connection closed before the ClientHello was complete")
    data += chunk
with open(path, "w") as f:
    f.write(data[:end].hex() + "\n")
conn.close()
EOF

run_client() {
    local name=$1 port=$2 host="$1.tlszoo.localhost"
    case "$name" in
        openssl-tls12) openssl s_client -tls1_2 -connect "127.0.0.1:$port" -servername "$host" ;;
        openssl-tls13) openssl s_client -connect "127.0.0.1:$port" -servername "$host" ;;
        curl) curl -sk --max-time 5 --resolve "$host:$port:127.0.0.1" "https://$host:$port/" ;;
        gnutls) gnutls-cli --insecure --sni-hostname "$host" -p "$port" 127.0.0.1 ;;
        python) python3 -c 'import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
ctx.wrap_socket(s, server_hostname=sys.argv[2])' "$port" "$host" ;;
    esac
}

last=$((BASE + ${#CLIENTS[@]} - 1))
pcap="$OUT/hellos.pcap"
timeout 120 dumpcap -q -i lo -P -w "$pcap" \
    -f "host 127.0.0.1 and tcp portrange $BASE-$last" 2>"$WORK/dumpcap.log" &
CAP_PID=$!
for _ in $(seq 50); do
    grep -q "Capturing on" "$WORK/dumpcap.log" 2>/dev/null && break
    sleep 0.1
done
sleep 0.5

port=$BASE
for name in "${CLIENTS[@]}"; do
    hex="$OUT/$name.hex"
    rm -f "$hex" "$hex.ready"
    timeout 15 python3 "$WORK/listen.py" "$port" "$hex" &
    lpid=$!
    for _ in $(seq 50); do [[ -e "$hex.ready" ]] && break; sleep 0.1; done
    rm -f "$hex.ready"
    timeout 10 bash -c "$(declare -f run_client); run_client $name $port" \
        </dev/null >/dev/null 2>&1 || true
    wait "$lpid" || { echo "record-hellos: no ClientHello from $name" >&2; exit 1; }
    echo "$name: $(($(wc -c <"$hex") / 2)) bytes -> $hex"
    port=$((port + 1))
done

sleep 1
kill -INT "$CAP_PID" 2>/dev/null || true
wait "$CAP_PID" || true
CAP_PID=""
chmod 644 "$pcap"

# Cross-check: tshark's JA3 for each hello, and a JA4 computed here from tshark's own
# dissection (not from our parser) per FoxIO's technical_details/JA4.md; tshark 4.0 has no JA4
# field. sig_hash_alg is taken from the whole hello: fine while no client also sends
# signature_algorithms_cert (0x0032), as none of these does.
cat >"$WORK/ja4.py" <<'EOF'
import hashlib, sys
names = dict(zip(sys.argv[2].split(), sys.argv[1].split()))
vmap = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}
grease = lambda v: (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)
h12 = lambda s: hashlib.sha256(s.encode()).hexdigest()[:12] if s else "0" * 12
ints = lambda s, base: [int(x, base) for x in s.split(",") if x]
for line in sys.stdin:
    port, ver, ciphers, exts, alpn, svers, sigs, ja3, ja3_full = line.rstrip("\n").split("\t")
    ciphers = [c for c in ints(ciphers, 16) if not grease(c)]
    exts = [e for e in ints(exts, 10) if not grease(e)]
    svers = [v for v in ints(svers, 16) if not grease(v)]
    sigs = [g for g in ints(sigs, 16) if not grease(g)]
    first = alpn.split(",")[0] if alpn else ""
    a = "t%s%s%02d%02d%s" % (vmap.get(max(svers) if svers else int(ver, 16), "00"),
                             "d" if 0 in exts else "i", min(len(ciphers), 99),
                             min(len(exts), 99), first[0] + first[-1] if first else "00")
    b = ",".join("%04x" % c for c in sorted(ciphers))
    c = ",".join("%04x" % e for e in sorted(exts) if e not in (0, 0x10))
    if sigs:
        c += "_" + ",".join("%04x" % g for g in sigs)
    print("\t".join([names[port], ja3, ja3_full, "%s_%s_%s" % (a, h12(b), h12(c))]))
EOF
ports=""
for i in "${!CLIENTS[@]}"; do ports="$ports $((BASE + i))"; done
ver=$(tshark --version 2>/dev/null | head -n1)
{
    echo "# JA3: as computed by $ver"
    echo "# JA4: computed by scripts/record-hellos.sh from that tshark's dissection"
    echo "# client ja3_md5 ja3_full ja4"
    tshark -r "$pcap" -Y "tls.handshake.type == 1" -T fields -E occurrence=a -E aggregator=, \
        -e tcp.dstport -e tls.handshake.version -e tls.handshake.ciphersuite \
        -e tls.handshake.extension.type -e tls.handshake.extensions_alpn_str \
        -e tls.handshake.extensions.supported_version -e tls.handshake.sig_hash_alg \
        -e tls.handshake.ja3 -e tls.handshake.ja3_full 2>/dev/null |
        python3 "$WORK/ja4.py" "${CLIENTS[*]}" "$ports"
} >"$OUT/tshark-fingerprints.txt"
cat "$OUT/tshark-fingerprints.txt"
