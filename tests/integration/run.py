#!/usr/bin/env python3
"""Integration tests: real TLS clients against a freshly started tlszoo.

For every scenario in `tlszoo list --json`, each of openssl s_client, curl,
gnutls-cli and Python's ssl module is run two ways:
  (a) secure defaults with the zoo CA trusted: the defect is seen, with the
      exit code and the error text the manifest documents (expect.errors);
  (b) exactly one thing relaxed (RELAX in tables()): the handshake completes
      and the HTTP answer names the scenario.
Then bad input (a bad scenario file, a taken port) and server-side checks.
Prints one line per check and, last, "N passed, M failed"; exits 0 only if
nothing failed. Binary: $TLSZOO (default ./tlszoo). Python 3.11, stdlib only.
"""
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, replace

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TLSZOO = os.path.abspath(os.environ.get("TLSZOO", "./tlszoo"))
SCENARIOS = os.path.join(ROOT, "scenarios")
TIMEOUT = 15           # seconds, for every subprocess and socket
HANDSHAKE_TIMEOUT = 5  # passed to serve
CLIENTS = ("openssl", "curl", "gnutls", "python")
CONTROL_PORT = 9399    # serve's read-only control API; moved by --port-offset too
X509_V_FLAG_NO_CHECK_TIME = 0x200000  # OpenSSL's flag; Python passes verify_flags through

counts = {"passed": 0, "failed": 0}
verdicts = defaultdict(Counter)  # scenario -> verdicts the server should record


class SetupError(Exception):
    pass


def check(ok, label, detail=""):
    counts["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + label)
    if not ok:  # the first line says what was wanted; then the end of the output
        lines = detail.strip().splitlines()
        for line in lines[:1] + (["..."] if len(lines) > 16 else []) + lines[1:][-15:]:
            print("     | " + line)
    sys.stdout.flush()


def run(cmd, stdin=b"", timeout=TIMEOUT):
    """Runs cmd; stdin stays open so clients wait for the server's answer.
    Returns (exit code or "timeout", stdout + stderr)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
        with suppress(BrokenPipeError):
            p.stdin.write(stdin)
            p.stdin.flush()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "timeout"
        with suppress(BrokenPipeError):
            p.stdin.close()
        out.seek(0)
        return rc, out.read().decode(errors="replace")


# ---------------------------------------------------------------- clients

@dataclass(frozen=True)
class Call:
    port: int
    host: str           # the scenario's host name (HTTP Host header)
    sni: str | None     # server_name to send; None: connect by IP address, no SNI
    verify: str | None  # name the certificate must match; None: no name check
    cafile: str | None  # trust anchors; None: the system's default store
    cert: tuple | None = None  # (client certificate, key)
    extra: tuple = ()   # client-specific options; for python, functions on the SSLContext


def request(host):
    return f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def openssl(c):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{c.port}", "-brief",
           "-verify_return_error"]
    cmd += ["-servername", c.sni] if c.sni else ["-noservername"]
    cmd += ["-verify_hostname", c.verify] if c.verify else []
    cmd += ["-CAfile", c.cafile] if c.cafile else []
    cmd += ["-cert", c.cert[0], "-key", c.cert[1]] if c.cert else []
    return run(cmd + list(c.extra), request(c.host))


def curl(c):
    # curl takes SNI and the name to verify from the URL (c.verify is c.sni
    # here); --resolve pins the name to 127.0.0.1, so no DNS. No SNI: by IP.
    name = c.sni or "127.0.0.1"
    cmd = ["curl", "-sS", "--http1.1", "--noproxy", "*", "--max-time", str(TIMEOUT - 2),
           f"https://{name}:{c.port}/"]
    cmd += ["--resolve", f"{name}:{c.port}:127.0.0.1"] if c.sni else []
    cmd += ["--cacert", c.cafile] if c.cafile else []
    cmd += ["--cert", c.cert[0], "--key", c.cert[1]] if c.cert else []
    return run(cmd + list(c.extra))


def gnutls(c):
    cmd = ["gnutls-cli", "-p", str(c.port)]
    cmd += ["--sni-hostname", c.sni] if c.sni else ["--disable-sni"]
    cmd += ["--verify-hostname", c.verify] if c.verify else []
    cmd += ["--x509cafile", c.cafile] if c.cafile else []
    cmd += ["--x509certfile", c.cert[0], "--x509keyfile", c.cert[1]] if c.cert else []
    return run(cmd + list(c.extra) + ["127.0.0.1"], request(c.host))


def python_ssl(c):
    try:
        ctx = ssl.create_default_context(cafile=c.cafile)
        if c.verify is None:
            ctx.check_hostname = False  # verify_mode stays CERT_REQUIRED
        if c.cert:
            ctx.load_cert_chain(*c.cert)
        for tweak in c.extra:
            tweak(ctx)
        name = c.sni or "127.0.0.1"  # an IP literal is verified, never sent as SNI
        with socket.create_connection(("127.0.0.1", c.port), timeout=TIMEOUT) as raw, \
                ctx.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(request(c.host))
            data = b""
            for _ in range(64):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
            return 0, f"{tls.version()} {tls.cipher()[0]}\n{data.decode(errors='replace')}"
    except (OSError, ssl.SSLError, ValueError) as e:
        return 1, f"{type(e).__name__}: {e}"


CLIENT_FN = {"openssl": openssl, "curl": curl, "gnutls": gnutls, "python": python_ssl}


def no_check_time(ctx):
    ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME


def allow_tls10(ctx):
    with warnings.catch_warnings():  # TLSVersion.TLSv1 is deprecated; that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")


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

def expect_failure(s, client, call, var, label):
    rc, out = CLIENT_FN[client](replace(call, **var.changes))
    text = var.error or s["expect"].get("errors", {}).get(client)
    want_rc = var.rc or (CURL_RC.get(s["name"], 60) if client == "curl" else 1)
    if not text:
        check(False, f"{label}: the manifest has no expect.errors.{client}", out)
        return
    ok = rc == want_rc and text in out
    check(ok, f"{label}: {text}", f"want exit {want_rc} and {text!r}; got exit {rc}:\n{out}")
    reject = s["expect"]["outcome"] == "reject"
    expect_verdict(s, ok, VERDICT.get((s["name"], client), "PASS" if reject else "FAIL"))


def expect_success(s, client, call, var, label):
    rc, out = CLIENT_FN[client](replace(call, **var.changes))
    body = f"tlszoo scenario '{s['name']}'"
    ok = rc == 0 and body in out
    if var.also:
        ok = ok and var.also in [line.rstrip() for line in out.splitlines()]
    also = f" and the line {var.also!r}" if var.also else ""
    check(ok, label, f"want exit 0 and {body!r}{also}; got exit {rc}:\n{out}")
    expect_verdict(s, ok, "FAIL" if s["expect"]["outcome"] == "reject" else "PASS")


def expect_verdict(s, ok, verdict):
    """Notes the verdict the server should give this connection; after a
    failed check nothing is predictable for the scenario."""
    verdicts[s["name"]][verdict if ok else "unpredictable"] += 1


def scenario_checks(s, m, strict, relax):
    name, reject = s["name"], s["expect"]["outcome"] == "reject"
    call = Call(port=s["port"], host=s["host"], sni=s["host"], verify=s["host"],
                cafile=m["ca_file"])
    for variant in strict.get(name, [every("defaults")] if reject else []):  # (a)
        for client, var in variant.items():
            note = "" if var.note == "defaults" else f" ({var.note})"
            expect_failure(s, client, call, var,
                           f"{name} {client}{note} {'rejects' if reject else 'fails'}")
    for client in CLIENTS:  # (b)
        var = relax[name][client]
        note = "" if var.note == "defaults" else f" ({var.note})"
        expect_success(s, client, call, var, f"{name} {client}{note} connects")


def coalesced_request_check(s, m):
    """A TLS 1.3 client may send its Finished and the request in one segment;
    the server must answer at once, not sit on it until the timeout."""
    ctx = ssl.create_default_context(cafile=m["ca_file"])
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, outg, server_hostname=s["host"])
    data, detail, start = b"", "", time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", s["port"]),
                                      timeout=HANDSHAKE_TIMEOUT - 1) as sock:
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
    expect_verdict(s, ok, "PASS")


def event_checks(path, m):
    """Server side: one JSON event per connection, and per scenario exactly
    the verdicts the clients earned (connections that sent nothing, like
    the readiness probes, are left out)."""
    with open(path) as f:
        lines = f.read().splitlines()
    try:
        events = [json.loads(line) for line in lines]
        bad = [e for e in events if not {"scenario", "peer", "outcome", "verdict"} <= e.keys()]
    except ValueError as e:
        events, bad = [], [str(e)]
    check(events and not bad, f"serve writes {len(lines)} JSON events with verdicts",
          "\n".join(map(str, bad[:3])) or "no events")
    for s in m["scenarios"]:
        want = verdicts[s["name"]]
        if want["unpredictable"]:
            continue
        got = Counter(e.get("verdict") for e in events
                      if e.get("scenario") == s["name"] and e.get("bytes_in"))
        check(got == want, f"{s['name']}: server verdicts {dict(sorted(got.items()))}",
              f"want {dict(sorted(want.items()))}; events:\n" + "\n".join(
                  f"{e.get('verdict')} {e.get('verdict_reason')}" for e in events
                  if e.get("scenario") == s["name"]))


# ---------------------------------------------------------------- server control

def port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_offset(ports):
    for _ in range(50):
        offset = random.randint(20000, 40000)
        if all(port_free(p + offset) for p in ports):
            return offset
    raise SetupError("no free port range found")


def manifest(certs, offset):
    rc, out = run([TLSZOO, "list", "--json", "--scenarios", SCENARIOS, "--certs", certs,
                   "--port-offset", str(offset)])
    if rc != 0:
        raise SetupError(f"tlszoo list --json failed ({rc}):\n{out}")
    return json.loads(out)


def start_server(certs, log, events):
    """Starts serve on free ports; returns (process, manifest)."""
    ports = [s["port"] for s in manifest(certs, 0)["scenarios"]] + [CONTROL_PORT]
    for _ in range(5):
        offset = free_offset(ports)
        proc = subprocess.Popen([TLSZOO, "serve", "--scenarios", SCENARIOS, "--certs", certs,
                                 "--port-offset", str(offset), "--events", events,
                                 "--handshake-timeout", str(HANDSHAKE_TIMEOUT)],
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # Ctrl-C reaches us; we stop it
        try:
            # Ready = every port accepts AND every leaf is minted: serve binds
            # all ports before it mints, so an open port alone does not mean
            # the certificate files are there yet.
            m = manifest(certs, offset)
            pending = [p + offset for p in ports] + [s["certificate"]["cert_file"]
                                                     for s in m["scenarios"]]
            deadline = time.monotonic() + 30
            while pending and proc.poll() is None and time.monotonic() < deadline:
                try:
                    if isinstance(pending[0], str):
                        open(pending[0]).close()
                    else:
                        socket.create_connection(("127.0.0.1", pending[0]), timeout=1).close()
                    pending.pop(0)
                except OSError:
                    time.sleep(0.1)
        except BaseException:
            stop_server(proc)
            raise
        if not pending:
            return proc, m
        rc = stop_server(proc)
        if rc != 2:  # 2: a port was taken after all; try another offset
            log.seek(0)
            raise SetupError(f"tlszoo serve did not come up (exit {rc}):\n{log.read()[-2000:]}")
    raise SetupError("tlszoo serve: ports kept being taken")


def stop_server(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "still running 5 s after SIGTERM"


# ---------------------------------------------------------------- bad input

def tlszoo(*args):
    try:
        return subprocess.run([TLSZOO, *args], capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed it
        return subprocess.CompletedProcess(e.cmd, "timeout", e.stdout, str(e.stderr))


def bad_input_checks(tmp):
    bad_dir = os.path.join(tmp, "bad-scenarios")
    os.mkdir(bad_dir)
    bad = os.path.join(bad_dir, "typo.yaml")
    with open(bad, "w") as f:
        f.write("summary: a typo\nlisten: 9499\ncertificate:\n  not_afterr: 30d\n")
    p = tlszoo("check", "--scenarios", bad_dir)
    want = f"{bad}:4:3: unknown key 'not_afterr' in certificate (did you mean 'not_after'?)\n"
    check(p.returncode == 2 and p.stderr == want,
          "check: an unknown key is FILE:LINE:COL: message with did-you-mean, exit 2",
          f"want exit 2 and stderr {want!r}; got exit {p.returncode}, stderr {p.stderr!r}")

    # A taken port: serve exits 2, naming the scenario and the port.
    ports = {s["name"]: s["port"] for s in manifest(tmp, 0)["scenarios"]}
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


# ---------------------------------------------------------------- main

def run_all():
    for tool in ("openssl", "curl", "gnutls-cli"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            raise SetupError(f"{tool} is not installed")
    with tempfile.TemporaryDirectory(prefix="tlszoo-it-") as tmp:
        certs = os.path.join(tmp, "certs")
        os.mkdir(certs)
        events = os.path.join(tmp, "events.jsonl")
        with open(os.path.join(tmp, "serve.log"), "w+") as log:
            proc, m = start_server(certs, log, events)
            try:
                strict, relax = tables(m, tmp)
                for s in m["scenarios"]:
                    if s["name"] not in relax:
                        check(False, f"{s['name']}: no relaxation in the test table; add one")
                    else:
                        scenario_checks(s, m, strict, relax)
                coalesced_request_check(next(s for s in m["scenarios"] if s["name"] == "valid"), m)
            finally:
                rc = stop_server(proc)
                log.seek(0)
                check(rc == 0, "serve exits 0 on SIGTERM", f"got {rc}; log:\n{log.read()}")
        event_checks(events, m)
        bad_input_checks(tmp)


def main():
    try:
        run_all()
    except Exception as e:  # a broken set-up is a failed check, never a silent pass
        first = (str(e).splitlines() or [""])[0]
        check(False, f"test run aborted: {type(e).__name__}: {first}", traceback.format_exc())
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(f"interrupted\n{counts['passed']} passed, {counts['failed'] + 1} failed")
        sys.exit(130)
