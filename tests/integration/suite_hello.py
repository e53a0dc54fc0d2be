"""The ClientHello report: what a client offered, as the server's event says.

Python with a known SNI and ALPN list, curl, a TLS 1.2-only s_client and a
Python client connecting by IP address (no SNI); for each, the event's
client_hello fields match what the client is known to send, and its JA3 and
JA4 fingerprints are well formed and agree with the event's own fields
(recomputed here from the JA3 and JA4 definitions).
"""
import hashlib
import re

from zoo import check, curl, describe, free_port, openssl, python_ssl

ORDER = 30

JA4 = re.compile(r"^t1[0-3][di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")
JA4_SNI = re.compile(r"^t1[0-3]d\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")  # SNI sent
TLS13, TLS12 = 0x0304, 0x0303
EXT_SNI, EXT_ALPN = 0x0000, 0x0010


def grease(v):
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ..., 0xfafa."""
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def ja3(h):
    """JA3 string: version, suites, extensions, groups, point formats (the
    last is not in the event; taken from the server's own string)."""
    def join(values):
        return "-".join(str(v) for v in values if not grease(v))
    formats = h.get("ja3", "").rsplit(",", 1)[-1]
    return ",".join([str(h["legacy_version"]), join(h["cipher_suites"]), join(h["extensions"]),
                     join(h["supported_groups"]), formats])


def ja4(h):
    """JA4 (FoxIO): t, version, d|i, counts, ALPN ends; hash of the sorted
    suites; hash of the sorted extensions without SNI/ALPN, then the
    signature algorithms in order."""
    versions = [v for v in h["supported_versions"] if not grease(v)]
    version = max(versions) if versions else h["legacy_version"]
    ver = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}.get(version, "00")
    suites = [s for s in h["cipher_suites"] if not grease(s)]
    exts = [e for e in h["extensions"] if not grease(e)]
    alpn = h["alpn"][0] if h["alpn"] else ""
    ends = alpn[0] + alpn[-1] if alpn else "00"
    a = (f"t{ver}{'d' if h['sni'] is not None else 'i'}"
         f"{min(len(suites), 99):02d}{min(len(exts), 99):02d}{ends}")

    def digest(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "0" * 12
    b = digest(",".join(sorted(f"{s:04x}" for s in suites)))
    ext_text = ",".join(sorted(f"{e:04x}" for e in exts if e not in (EXT_SNI, EXT_ALPN)))
    sigs = [f"{s:04x}" for s in h["signature_algorithms"] if not grease(s)]
    c = digest(ext_text + ("_" + ",".join(sigs) if sigs else "")) if exts else "0" * 12
    return f"{a}_{b}_{c}"


def fingerprint_checks(label, e):
    h = (e or {}).get("client_hello") or {}
    md5 = h.get("ja3_md5", "")
    check(re.fullmatch(r"[0-9a-f]{32}", md5) is not None
          and hashlib.md5(h.get("ja3", "").encode()).hexdigest() == md5
          and h.get("ja3") == ja3(h),
          f"{label}: ja3 matches the event's fields, ja3_md5 is its MD5 (32 hex)",
          f"ja3 {h.get('ja3')!r}, recomputed {ja3(h) if h else None!r}, ja3_md5 {md5!r}")
    check(JA4.match(h.get("ja4", "")) is not None and h.get("ja4") == ja4(h),
          f"{label}: ja4 {h.get('ja4')} is well formed and matches the event's fields",
          f"want {JA4.pattern} and {ja4(h) if h else None}; got {h.get('ja4')!r}")


def python_alpn(zoo):
    s = zoo.scenario("valid")
    since, where = zoo.last_id(), {}
    rc, out = python_ssl(zoo.call(s, extra=(lambda ctx: ctx.set_alpn_protocols(["h2",
                                                                                  "http/1.1"]),)),
                         where)
    e = zoo.event_for(where.get("peer"), since, "valid")
    h = (e or {}).get("client_hello") or {}
    check(rc == 0 and h.get("sni") == s["host"] and h.get("alpn") == ["h2", "http/1.1"],
          "python: the event's sni and alpn are what it sent",
          f"want sni {s['host']!r}, alpn ['h2', 'http/1.1']; got {h.get('sni')!r}, "
          f"{h.get('alpn')!r} ({describe(e)})\nclient exit {rc}: {out[:300]}")
    check(TLS13 in h.get("supported_versions", []) and h.get("key_share_groups")
          and (e.get("tls") or {}).get("version") == "TLSv1.3"
          and h.get("ja4", "").startswith("t13d") and h["ja4"][8:10] == "h2",
          "python: offers TLS 1.3 with a key share, negotiates TLSv1.3, ja4 t13d...h2",
          f"got versions {h.get('supported_versions')}, key shares {h.get('key_share_groups')}, "
          f"tls {e and e.get('tls')}, ja4 {h.get('ja4')}")
    fingerprint_checks("python", e)


def python_by_ip(zoo):
    s = zoo.scenario("valid")
    since, where = zoo.last_id(), {}
    rc, out = python_ssl(zoo.call(s, sni=None, verify=None), where)
    e = zoo.event_for(where.get("peer"), since, "valid")
    h = (e or {}).get("client_hello") or {}
    check(rc == 0 and e is not None and h.get("sni") is None and EXT_SNI not in h["extensions"]
          and h.get("alpn") == [] and h.get("ja4", "").startswith("t13i"),
          "python by IP: sni null, no server_name extension, no ALPN, ja4 t13i...",
          f"got {h}\n{describe(e)}\nclient exit {rc}: {out[:300]}")
    fingerprint_checks("python by IP", e)


def curl_hello(zoo):
    s = zoo.scenario("valid")
    since, port = zoo.last_id(), free_port()
    rc, out = curl(zoo.call(s, extra=("--local-port", str(port))))
    e = zoo.event_for(f"127.0.0.1:{port}", since, "valid")
    h = (e or {}).get("client_hello") or {}
    check(rc == 0 and h.get("sni") == s["host"] and "http/1.1" in h.get("alpn", [])
          and JA4_SNI.match(h.get("ja4", "")) is not None,
          "curl: the event's sni is the URL's host, alpn offers http/1.1, ja4 t1?d...",
          f"got sni {h.get('sni')!r}, alpn {h.get('alpn')!r}, ja4 {h.get('ja4')!r} "
          f"({describe(e)})\n"
          f"client exit {rc}: {out[:300]}")
    fingerprint_checks("curl", e)


def openssl_tls12(zoo):
    s = zoo.scenario("valid")
    since, port = zoo.last_id(), free_port()
    rc, out = openssl(zoo.call(s, extra=("-tls1_2", "-bind", f"127.0.0.1:{port}")))
    e = zoo.event_for(f"127.0.0.1:{port}", since, "valid")
    h = (e or {}).get("client_hello") or {}
    check(rc == 0 and e is not None and h.get("supported_versions") == []
          and h.get("legacy_version") == TLS12 and (e.get("tls") or {}).get("version") == "TLSv1.2"
          and h.get("key_share_groups") == [] and h.get("ja4", "").startswith("t12d"),
          "openssl -tls1_2: no supported_versions, legacy_version 0x0303, TLSv1.2, ja4 t12d...",
          f"got versions {h.get('supported_versions')}, legacy {h.get('legacy_version')}, "
          f"tls {e and e.get('tls')}, ja4 {h.get('ja4')}\nclient exit {rc}: {out[-500:]}")
    fingerprint_checks("openssl -tls1_2", e)


def suite(zoo):
    python_alpn(zoo)
    python_by_ip(zoo)
    curl_hello(zoo)
    openssl_tls12(zoo)
