"""Every scenario, both ways, with real clients.

For every scenario in the catalog, each of openssl s_client, curl, gnutls-cli
and Python's ssl module is run two ways:
  (a) secure defaults with the zoo CA trusted: the defect is seen, with the
      exit code and the error text the manifest documents (expect.errors);
  (b) exactly one thing relaxed (RELAX in tables()): the handshake completes
      and the HTTP answer names the scenario.
Then the server's verdicts for exactly these connections, and bad input (a
bad scenario file, a taken port).
"""
import os
import re
import socket
import ssl
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from zoo import (CLIENT_FN, CLIENTS, CONTROL_PORT, HANDSHAKE_TIMEOUT, SCENARIOS, Call,
                 SetupError, allow_tls10, check, free_offset, no_check_time, request, run,
                 tlszoo)

ORDER = 10  # first: its verdict counts cover its own connections only


# ---------------------------------------------------------------- the tables

@dataclass(frozen=True)
class V:
    """One way to call a client: what changes from the default Call, what it is."""
    note: str
    changes: dict
    error: str | None = None  # expected failure text when the manifest has none
    rc: int | None = None     # expected failure exit code, if not the client's usual
    also: str | None = None   # a line a relaxed success must print as well


def v(note, error=None, rc=None, also=None, **changes):
    return V(note, changes, error, rc, also)


def every(note, **changes):
    return {c: v(note, **changes) for c in CLIENTS}


# curl's exit code for a refused handshake: 60 = certificate verification,
# 35 = handshake failure, 56 = failure receiving data (the TLS 1.3
# certificate_required alert arrives after curl's handshake is done).
CURL_RC = {"tls10-only": 35, "cipher-restricted": 35, "sni-strict": 35, "mtls-required": 56}
# curl checks the name after the handshake and closes without an alert or a
# request, which the server cannot tell from a late check (SUSPECT).
VERDICT = {("wrong-host", "curl"): "SUSPECT"}


def tables(m, tmp):
    """STRICT: the failing calls (a) where they are not the defaults, and the
    failing calls for 'accept' scenarios. RELAX: per scenario and client, the
    one change that makes it connect (b)."""
    leaf = {s["name"]: s["certificate"]["cert_file"] for s in m["scenarios"]}
    bundle = os.path.join(tmp, "ca+intermediate.pem")
    with open(bundle, "w") as out:
        for f in (m["ca_file"], m["intermediate_file"]):
            with open(f) as pem:
                out.write(pem.read())

    def pinned(name):  # curl: the leaf's public key, for --pinnedpubkey
        path = os.path.join(tmp, f"{name}.pub.pem")
        rc, text = run(["openssl", "x509", "-in", leaf[name], "-pubkey", "-noout"])
        if rc != 0:
            raise SetupError(f"cannot read {leaf[name]}: {text}")
        with open(path, "w") as out:
            out.write(text)
        return path

    status = "- Status: The certificate is NOT trusted. The certificate chain uses {} certificate."

    def time_skip(name, what):
        return {
            "openssl": v("-no_check_time", extra=("-no_check_time",)),
            # curl has no switch that skips only the date check: --insecure,
            # narrowed by pinning the leaf's public key (checked even with -k).
            "curl": v("--insecure pinned to the leaf key; no time-only switch",
                      extra=("--insecure", "--pinnedpubkey", pinned(name))),
            # gnutls-cli has no time-only switch or priority keyword: --insecure,
            # and its status line must name the date as the ONLY problem.
            "gnutls": v("--insecure, status names only the date; no time-only switch",
                        extra=("--insecure",), also=status.format(what)),
            # ssl has no named switch, but verify_flags passes OpenSSL's flag on.
            "python": v("verify_flags |= X509_V_FLAG_NO_CHECK_TIME", extra=(no_check_time,)),
        }

    no_issuer = "unable to get local issuer certificate"
    strict = {
        # gnutls-cli 3.7.9's default priority accepts TLS 1.0 (README's
        # finding), so "secure settings" for it means a modern priority string.
        "tls10-only": [{**every("defaults"), "gnutls": v(
            "priority without TLS 1.0/1.1",
            extra=("--priority", "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1"),
            error="A packet with illegal or unsupported version was received")}],
        "sni-strict": [every("without SNI", sni=None),
                       every("with SNI 'localhost'", sni="localhost", verify="localhost")],
        # The control fails without the zoo CA: the CA is what makes it pass.
        "valid": [{
            "openssl": v("system trust only", cafile=None, error=no_issuer),
            "curl": v("system trust only", cafile=None, rc=60,
                      error="SSL certificate problem: " + no_issuer),
            "gnutls": v("system trust only", cafile=None,
                        error="The certificate issuer is unknown"),
            "python": v("system trust only", cafile=None,
                        error="certificate verify failed: " + no_issuer)}],
        "mtls-required": [every("without a client certificate")],
    }
    not_this_host = "not-this-host.tlszoo.localhost"
    relax = {
        "valid": every("defaults"),
        "expired": time_skip("expired", "expired"),
        "not-yet-valid": time_skip("not-yet-valid", "not yet valid"),
        "wrong-host": {
            "openssl": v("without -verify_hostname", verify=None),
            # curl asks for the name the certificate has (SNI and check both).
            "curl": v("URL names not-this-host", sni=not_this_host, verify=not_this_host),
            "gnutls": v("--verify-hostname not-this-host", verify=not_this_host),
            "python": v("check_hostname=False, CERT_REQUIRED", verify=None),
        },
        "missing-intermediate": every("CA file ca.pem + intermediate.pem", cafile=bundle),
        "self-signed": every("CA file leaf/self-signed.pem", cafile=leaf["self-signed"]),
        "untrusted-root": every("CA file untrusted-root.pem", cafile=m["untrusted_root_file"]),
        "tls10-only": {
            "openssl": v("-tls1 at SECLEVEL=0", extra=("-tls1", "-cipher", "DEFAULT@SECLEVEL=0")),
            "curl": v("--tlsv1.0 at SECLEVEL=0",
                      extra=("--tlsv1.0", "--ciphers", "DEFAULT@SECLEVEL=0")),
            "gnutls": v("default priority, which accepts TLS 1.0: a finding"),
            "python": v("minimum_version TLSv1 at SECLEVEL=0", extra=(allow_tls10,)),
        },
        "cipher-restricted": {
            "openssl": v("-cipher CAMELLIA128-SHA", extra=("-cipher", "CAMELLIA128-SHA")),
            "curl": v("--ciphers CAMELLIA128-SHA", extra=("--ciphers", "CAMELLIA128-SHA")),
            "gnutls": v("priority +CAMELLIA-128-CBC:+RSA:+SHA1",
                        extra=("--priority", "NORMAL:+CAMELLIA-128-CBC:+RSA:+SHA1")),
            "python": v("set_ciphers('CAMELLIA128-SHA')",
                        extra=(lambda ctx: ctx.set_ciphers("CAMELLIA128-SHA"),)),
        },
        "sni-strict": every("the right SNI"),
        "mtls-required": every("client.pem + client.key",
                               cert=(m["client_cert_file"], m["client_key_file"])),
    }
    return strict, relax


# ---------------------------------------------------------------- scenario checks

class Verdicts:
    """Per scenario, the verdicts the server should record for this suite's
    connections; after a failed check nothing is predictable for it."""

    def __init__(self):
        self.want = defaultdict(Counter)

    def expect(self, s, ok, verdict):
        self.want[s["name"]][verdict if ok else "unpredictable"] += 1


def expect_failure(s, client, call, var, label, verdicts):
    rc, out = CLIENT_FN[client](replace(call, **var.changes))
    text = var.error or s["expect"].get("errors", {}).get(client)
    want_rc = var.rc or (CURL_RC.get(s["name"], 60) if client == "curl" else 1)
    if not text:
        check(False, f"{label}: the manifest has no expect.errors.{client}", out)
        return
    ok = rc == want_rc and text in out
    check(ok, f"{label}: {text}", f"want exit {want_rc} and {text!r}; got exit {rc}:\n{out}")
    reject = s["expect"]["outcome"] == "reject"
    verdicts.expect(s, ok, VERDICT.get((s["name"], client), "PASS" if reject else "FAIL"))


def expect_success(s, client, call, var, label, verdicts):
    rc, out = CLIENT_FN[client](replace(call, **var.changes))
    body = f"tlszoo scenario '{s['name']}'"
    ok = rc == 0 and body in out
    if var.also:
        ok = ok and var.also in [line.rstrip() for line in out.splitlines()]
    also = f" and the line {var.also!r}" if var.also else ""
    check(ok, label, f"want exit 0 and {body!r}{also}; got exit {rc}:\n{out}")
    verdicts.expect(s, ok, "FAIL" if s["expect"]["outcome"] == "reject" else "PASS")


def scenario_checks(s, m, strict, relax, verdicts):
    name, reject = s["name"], s["expect"]["outcome"] == "reject"
    call = Call(port=s["port"], host=s["host"], sni=s["host"], verify=s["host"],
                cafile=m["ca_file"])
    for variant in strict.get(name, [every("defaults")] if reject else []):  # (a)
        for client, var in variant.items():
            note = "" if var.note == "defaults" else f" ({var.note})"
            expect_failure(s, client, call, var,
                           f"{name} {client}{note} {'rejects' if reject else 'fails'}", verdicts)
    for client in CLIENTS:  # (b)
        var = relax[name][client]
        note = "" if var.note == "defaults" else f" ({var.note})"
        expect_success(s, client, call, var, f"{name} {client}{note} connects", verdicts)


def coalesced_request_check(s, m, verdicts):
    """A TLS 1.3 client may send its Finished and the request in one segment;
    the server must answer at once, not sit on it until the timeout."""
    ctx = ssl.create_default_context(cafile=m["ca_file"])
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, outg, server_hostname=s["host"])
    data, detail, start = b"", "", time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", s["port"]),
                                      timeout=max(1, HANDSHAKE_TIMEOUT - 1)) as sock:
            for _ in range(20):
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    sock.sendall(outg.read())
                    inc.write(sock.recv(65536))
            tls.write(request(s["host"]))
            sock.sendall(outg.read())  # client Finished + request in one send
            for _ in range(64):
                try:
                    data += tls.read(65536)
                    continue
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLZeroReturnError:
                    break
                chunk = sock.recv(65536)
                if not chunk:
                    break
                inc.write(chunk)
    except (OSError, ssl.SSLError) as e:
        detail = f"{type(e).__name__}: {e}"
    ok = f"tlszoo scenario '{s['name']}'".encode() in data
    check(ok, f"{s['name']} answers a request sent along with the client Finished",
          f"after {time.monotonic() - start:.1f}s got {data[:200]!r} {detail}")
    verdicts.expect(s, ok, "PASS")


def event_checks(events, m, verdicts):
    """Server side: per scenario exactly the verdicts this suite's clients
    earned (connections that sent nothing, like the fixture's markers, are
    left out)."""
    bad = [e for e in events if not {"scenario", "peer", "outcome", "verdict"} <= e.keys()]
    check(events and not bad, f"serve wrote {len(events)} JSON events with verdicts",
          "\n".join(map(str, bad[:3])) or "no events")
    for s in m["scenarios"]:
        want = verdicts.want[s["name"]]
        if want["unpredictable"]:
            continue
        got = Counter(e.get("verdict") for e in events
                      if e.get("scenario") == s["name"] and e.get("bytes_in"))
        check(got == want, f"{s['name']}: server verdicts {dict(sorted(got.items()))}",
              f"want {dict(sorted(want.items()))}; events:\n" + "\n".join(
                  f"{e.get('verdict')} {e.get('verdict_reason')}" for e in events
                  if e.get("scenario") == s["name"]))


# ---------------------------------------------------------------- bad input

def bad_input_checks(tmp, zoo):
    bad_dir = os.path.join(tmp, "bad-scenarios")
    os.makedirs(bad_dir, exist_ok=True)
    bad = os.path.join(bad_dir, "typo.yaml")
    with open(bad, "w") as f:
        f.write("summary: a typo\nlisten: 9499\ncertificate:\n  not_afterr: 30d\n")
    p = tlszoo("check", "--scenarios", bad_dir)
    want = f"{bad}:4:3: unknown key 'not_afterr' in certificate (did you mean 'not_after'?)\n"
    check(p.returncode == 2 and p.stderr == want,
          "check: an unknown key is FILE:LINE:COL: message with did-you-mean, exit 2",
          f"want exit 2 and stderr {want!r}; got exit {p.returncode}, stderr {p.stderr!r}")

    # A taken port: serve exits 2, naming the scenario and the port.
    ports = {s["name"]: s["port"] for s in zoo.manifest(0)["scenarios"]}
    offset = free_offset([*ports.values(), CONTROL_PORT])
    port = ports["valid"] + offset
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        p = tlszoo("serve", "--scenarios", SCENARIOS, "--port-offset", str(offset),
                   "--certs", os.path.join(tmp, "certs-taken"))
    pattern = (rf"^\S*valid\.yaml:\d+:\d+: .*'valid'.*cannot listen on 127\.0\.0\.1 port "
               rf"{port}: Address already in use")
    check(p.returncode == 2 and re.search(pattern, p.stderr) is not None,
          f"serve: taken port {port} exits 2 naming 'valid' and the port",
          f"got exit {p.returncode}, stderr {p.stderr!r}")


# ---------------------------------------------------------------- the suite

def suite(zoo):
    m, verdicts = zoo.m, Verdicts()
    start = zoo.settle()
    strict, relax = tables(m, zoo.tmp)
    for s in m["scenarios"]:
        if s["name"] not in relax:
            check(False, f"{s['name']}: no relaxation in the test table; add one")
        else:
            scenario_checks(s, m, strict, relax, verdicts)
    coalesced_request_check(zoo.scenario("valid"), m, verdicts)
    zoo.settle()
    event_checks(zoo.file_events(after=start), m, verdicts)
    bad_input_checks(zoo.tmp, zoo)
