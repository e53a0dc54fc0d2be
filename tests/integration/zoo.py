"""Shared parts of the integration suites: the server fixture, port picking,
the control API, the clients (openssl, curl, gnutls-cli, Python's ssl) and the
ok/FAIL reporting with its final "N passed, M failed" count.

One Zoo is started per run (run.py) on free 127.0.0.1 ports in a temporary
directory; every suite gets it. Every subprocess has a timeout and every wait
loop a count and a deadline. Python 3.11, stdlib only.
"""
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from contextlib import suppress
from dataclasses import dataclass

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TLSZOO = os.path.abspath(os.environ.get("TLSZOO", "./tlszoo"))
SCENARIOS = os.path.join(ROOT, "scenarios")
TIMEOUT = 15           # seconds, for every subprocess and socket
HANDSHAKE_TIMEOUT = 2  # passed to serve; suite_raw waits for it once
CONTROL_PORT = 9399    # serve's read-only control API; moved by --port-offset too
EVENT_WAIT = 5         # seconds an event may take to appear after its connection ended
X509_V_FLAG_NO_CHECK_TIME = 0x200000  # OpenSSL's flag; Python passes verify_flags through

counts = {"passed": 0, "failed": 0}


class SetupError(Exception):
    pass


def check(ok, label, detail=""):
    """Counts and prints one check; on failure the first detail line says
    what was wanted, then comes the end of the output."""
    counts["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + label)
    if not ok:
        lines = str(detail).strip().splitlines()
        for line in lines[:1] + (["..."] if len(lines) > 16 else []) + lines[1:][-15:]:
            print("     | " + line)
    sys.stdout.flush()
    return ok


def summary():
    return f"{counts['passed']} passed, {counts['failed']} failed"


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


def tlszoo(*args):
    """Runs the binary with ARGS; a CompletedProcess with text output."""
    try:
        return subprocess.run([TLSZOO, *args], capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed it
        return subprocess.CompletedProcess(e.cmd, "timeout", e.stdout or "", str(e.stderr))


# ---------------------------------------------------------------- ports

def port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port():
    """A local port nobody uses right now, for a client's source port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_offset(ports):
    for _ in range(50):
        offset = random.randint(20000, 40000)
        if all(port_free(p + offset) for p in ports):
            return offset
    raise SetupError("no free port range found")


def peer_of(sock):
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


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


def openssl(c, verify_return_error=True):
    """s_client; without VERIFY_RETURN_ERROR it reports a verify error and
    carries on."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{c.port}", "-brief"]
    cmd += ["-verify_return_error"] if verify_return_error else []
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


def python_ssl(c, where=None):
    """Python's ssl with the defaults plus c's changes. WHERE (a dict), if
    given, receives the connection's local address as "peer"."""
    try:
        ctx = ssl.create_default_context(cafile=c.cafile)
        if c.verify is None:
            ctx.check_hostname = False  # verify_mode stays CERT_REQUIRED
        if c.cert:
            ctx.load_cert_chain(*c.cert)
        for tweak in c.extra:
            tweak(ctx)
        name = c.sni or "127.0.0.1"  # an IP literal is verified, never sent as SNI
        with socket.create_connection(("127.0.0.1", c.port), timeout=TIMEOUT) as raw:
            if where is not None:
                where["peer"] = peer_of(raw)
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
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


CLIENTS = ("openssl", "curl", "gnutls", "python")
CLIENT_FN = {"openssl": openssl, "curl": curl, "gnutls": gnutls, "python": python_ssl}


def no_check_time(ctx):
    ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME


def no_verification(ctx):
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE


def allow_tls10(ctx):
    with warnings.catch_warnings():  # TLSVersion.TLSv1 is deprecated; that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")


def tls12_only(ctx):
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2


def client_hello_bytes(host):
    """The first flight Python's default client sends to HOST."""
    ctx = ssl.create_default_context()
    out = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname=host)
    with suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


# ---------------------------------------------------------------- the server

class Zoo:
    """One `tlszoo serve` on free ports in TMP, with an events file and a key
    log; stop() always ends it. m is the manifest (`tlszoo list --json`)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.certs = os.path.join(tmp, "certs")
        self.events_path = os.path.join(tmp, "events.jsonl")
        self.keylog_path = os.path.join(tmp, "keylog.txt")
        self.log = None
        self.proc = None
        self.offset = None
        self.m = None
        os.makedirs(self.certs, exist_ok=True)

    # -- start and stop

    def manifest(self, offset):
        rc, out = run([TLSZOO, "list", "--json", "--scenarios", SCENARIOS, "--certs",
                       self.certs, "--port-offset", str(offset)])
        if rc != 0:
            raise SetupError(f"tlszoo list --json failed ({rc}):\n{out}")
        return json.loads(out)

    def start(self):
        """Starts serve on free ports; ready when every port accepts and
        every leaf is minted (serve binds all ports before it mints)."""
        self.log = open(os.path.join(self.tmp, "serve.log"), "w+")
        ports = [s["port"] for s in self.manifest(0)["scenarios"]] + [CONTROL_PORT]
        for _ in range(5):
            offset = free_offset(ports)
            self.proc = subprocess.Popen(
                [TLSZOO, "serve", "--scenarios", SCENARIOS, "--certs", self.certs,
                 "--port-offset", str(offset), "--events", self.events_path,
                 "--keylog", self.keylog_path, "--handshake-timeout", str(HANDSHAKE_TIMEOUT)],
                stdout=self.log, stderr=subprocess.STDOUT,
                start_new_session=True)  # Ctrl-C reaches us; we stop it
            m = self.manifest(offset)
            pending = [p + offset for p in ports] + [s["certificate"]["cert_file"]
                                                     for s in m["scenarios"]]
            deadline = time.monotonic() + 30
            for _ in range(3000):
                if not pending or self.proc.poll() is not None or time.monotonic() > deadline:
                    break
                try:
                    if isinstance(pending[0], str):
                        open(pending[0]).close()
                    else:
                        socket.create_connection(("127.0.0.1", pending[0]), timeout=1).close()
                    pending.pop(0)
                except OSError:
                    time.sleep(0.1)
            if not pending:
                self.offset, self.m = offset, m
                self.control_port = CONTROL_PORT + offset
                self.api_base = f"http://127.0.0.1:{self.control_port}"
                return
            rc = self.stop()
            if rc != 2:  # 2: a port was taken after all; try another offset
                raise SetupError(f"tlszoo serve did not come up (exit {rc}):\n"
                                 f"{self.log_text()[-2000:]}")
        raise SetupError("tlszoo serve: ports kept being taken")

    def stop(self):
        """Stops serve with SIGTERM; returns its exit status (None if never started)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return "still running 10 s after SIGTERM"

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def close(self):
        self.stop()
        if self.log is not None:
            self.log.close()

    # -- the catalog

    def scenario(self, name):
        return next(s for s in self.m["scenarios"] if s["name"] == name)

    def call(self, s, **changes):
        """The default Call for scenario S: its name as SNI and as the name
        to verify, the zoo's CA."""
        args = dict(port=s["port"], host=s["host"], sni=s["host"], verify=s["host"],
                    cafile=self.m["ca_file"])
        args.update(changes)
        return Call(**args)

    # -- the control API

    def api(self, path, method="GET"):
        """Returns (status, content type, body bytes) for one API request."""
        req = urllib.request.Request(self.api_base + path, method=method,
                                     data=b"" if method in ("POST", "PUT") else None)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=TIMEOUT) as resp:
                return resp.status, resp.headers.get("Content-Type"), resp.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers.get("Content-Type"), e.read()

    def api_json(self, path):
        """Returns (status, parsed body); a body that is not JSON raises."""
        status, _, body = self.api(path)
        return status, json.loads(body)

    def events(self, since=0, **filters):
        """Every event after SINCE matching FILTERS (scenario, peer), paging
        through the API."""
        out = []
        for _ in range(100):  # at most 100,000 events
            query = urllib.parse.urlencode({"since": since, "limit": 1000, **filters})
            status, body = self.api_json(f"/api/events?{query}")
            if status != 200:
                raise SetupError(f"/api/events?{query}: {status} {body}")
            out += body["events"]
            if not body["events"]:
                return out
            since = body["next"]
        return out

    def last_id(self):
        """The newest event id (0 before the first): a query that matches
        nothing moves the cursor past everything there is."""
        status, body = self.api_json("/api/events?peer=none")
        if status != 200:
            raise SetupError(f"/api/events?peer=none: {status} {body}")
        return body["next"]

    def wait_events(self, since, count, timeout=EVENT_WAIT, **filters):
        """Polls until COUNT events after SINCE match FILTERS or TIMEOUT
        passes; returns what there is."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 1):
            found = self.events(since, **filters)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)
        return self.events(since, **filters)

    def event_for(self, peer, since, scenario=None):
        """The one event for the connection from PEER after SINCE, or None."""
        filters = {"peer": peer} | ({"scenario": scenario} if scenario else {})
        found = self.wait_events(since, 1, **filters)
        return found[0] if len(found) == 1 else None

    def settle(self):
        """Waits until the server has reported every connection made so far:
        a marker connection that says nothing is reported, and no event
        follows for a moment. Returns the newest id. Markers send no bytes."""
        s = self.scenario("valid")
        before = self.last_id()
        with socket.create_connection(("127.0.0.1", s["port"]), timeout=TIMEOUT) as sock:
            peer = peer_of(sock)
        self.wait_events(before, 1, peer=peer)
        last = self.last_id()
        for _ in range(50):
            time.sleep(0.1)
            now = self.last_id()
            if now == last:
                return now
            last = now
        return last

    def file_events(self, after=0):
        """Events in the events file with an id above AFTER (lines that do
        not parse raise)."""
        with open(self.events_path) as f:
            events = [json.loads(line) for line in f.read().splitlines()]
        return [e for e in events if e["id"] > after]


def describe(e):
    """One event in a line, for failure details."""
    if e is None:
        return "no event"
    o = e.get("outcome") or {}
    alert = (o.get("alert") or {}).get("name")
    return (f"#{e.get('id')} {e.get('scenario')} {e.get('peer')} {o.get('result')}"
            f"{' ' + alert if alert else ''} {e.get('verdict')}: {e.get('verdict_reason')}"
            f"{' [' + o['detail'] + ']' if o.get('detail') else ''}")

