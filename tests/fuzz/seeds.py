#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, so that no binary seed is committed.

  seeds.py OUTDIR

OUTDIR/hello: the real ClientHellos of tests/unit/fixtures/*.hex as bytes, each also split
over several records, cut short, with trailing bytes, and a few first flights that are not
TLS at all (HTTP, SSLv2). OUTDIR/config: scenarios/*.yaml plus scenarios using every key.
Python 3 stdlib only.
"""
import glob
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def records(hello_msg, sizes, version=b"\x03\x01"):
    """The handshake message HELLO_MSG split into handshake records of SIZES bytes (the last
    takes the rest)."""
    out, off = b"", 0
    for n in list(sizes) + [len(hello_msg)]:
        chunk = hello_msg[off:off + n]
        if not chunk:
            break
        out += b"\x16" + version + len(chunk).to_bytes(2, "big") + chunk
        off += len(chunk)
    return out


def hello_seeds():
    seeds = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "fixtures", "*.hex"))):
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path) as f:
            flight = bytes.fromhex("".join(f.read().split()))
        seeds[name] = flight
        rlen = int.from_bytes(flight[3:5], "big")
        msg = flight[5:5 + rlen]
        seeds[name + "-split2"] = records(msg, [len(msg) // 2])
        seeds[name + "-split-header"] = records(msg, [1, 2, 40])  # header across records
        seeds[name + "-trailing"] = flight + b"\x14\x03\x03\x00\x01\x01"
        seeds[name + "-cut"] = flight[:len(flight) * 2 // 3]
    curl = seeds["curl"]
    at = curl.index(b"http/1.1") + 7
    seeds["curl-alpn-nul"] = curl[:at] + b"\x00" + curl[at + 1:]  # ALPN "http/1.\0"
    seeds["http-get"] = b"GET / HTTP/1.1\r\nHost: valid.tlszoo.localhost\r\n\r\n"
    seeds["sslv2"] = bytes.fromhex("802e0103010015000000100100800200800300800400800500800600"
                                   "400700c0") + bytes(16)
    seeds["alert"] = b"\x15\x03\x03\x00\x02\x02\x28"
    seeds["empty-record"] = b"\x16\x03\x01\x00\x00"
    return seeds


FULL = """\
name: every-key
summary: "Uses every key: a seed for the fuzzer"
host: every-key.tlszoo.localhost
listen: "127.0.0.1:9499"
tls:
  versions: [tls1.0, tls1.1, tls1.2, tls1.3]
  ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:CAMELLIA128-SHA"
  groups: [x25519, secp256r1, ffdhe2048]
certificate:
  key: rsa2048
  issuer: root
  names: [every-key.tlszoo.localhost, localhost, 127.0.0.1, "::1"]
  not_before: 2020-01-01T00:00:00Z
  not_after: +90d
  signature: sha384
chain: leaf
sni:
  require: true
client_auth: optional
expect:
  outcome: reject
  alert: unknown_ca
  errors:
    openssl: "unable to get local issuer certificate"
    curl: "SSL certificate problem"
    gnutls: "not trusted"
    python: "CERTIFICATE_VERIFY_FAILED"
    chrome: "NET::ERR_CERT_AUTHORITY_INVALID"
    firefox: "SEC_ERROR_UNKNOWN_ISSUER"
explain:
  fixed_by: server
  what: >
    Folded text
    over two lines.
  diagnose: |
    openssl s_client -connect 127.0.0.1:9499
  fix: Nothing.
"""

BROKEN = {
    "typo": "listen: 9400\ncertificate:\n  not_afterr: -30d\n",
    "bad-port": "listen: 99999\n",
    "ipv6": "listen: \"[::1]:9400\"\ntls:\n  versions: tls1.3\n",
    "flow": "{listen: 9400, tls: {versions: [tls1.2]}, certificate: {names: [a, b]}}\n",
    "anchors": "listen: &p 9400\nsummary: *p\nexpect: {outcome: accept}\n",
    "files": "listen: 9400\ncertificate:\n  file: ../certs/leaf.pem\n  key_file: /dev/null\n",
    "dates": "listen: 9400\ncertificate:\n  not_before: 90d\n  not_after: -1h\n",
    "syntax": "listen: 9400\n  bad: [indent\n",
    "empty": "",
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for sub in ("hello", "config"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for name, data in hello_seeds().items():
        with open(os.path.join(out, "hello", name), "wb") as f:
            f.write(data)
    configs = dict(BROKEN, **{"every-key": FULL})
    for path in glob.glob(os.path.join(ROOT, "scenarios", "*.yaml")):
        with open(path) as f:
            configs[os.path.basename(path)[:-5]] = f.read()
    for name, text in configs.items():
        with open(os.path.join(out, "config", name + ".yaml"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
