#!/usr/bin/env python3
"""Hostile clients against a running tlszoo, all at once, while a correct client keeps going.

A wave opens about 2,500 connections within a second over every scenario port: 1,000 that
never send, 1,000 that send garbage, HTTP requests, truncated ClientHellos (then silent, or
then closed), oversized ones (past --max-hello, or declaring too much), records and hellos
whose lengths lie, real hellos whose ALPN name holds a NUL byte, and slow-drip clients (one
byte every 50 ms: one group never gets its hello in before the 3 s handshake timeout; the
other drips 30 bytes, sends the rest and completes). Meanwhile Python's ssl client fetches
https://valid/ every ~100 ms and must keep succeeding. Checks:
  - the server is still running and answering;
  - every connection produced exactly one event (matched by the client's source port, each
    port used once per run) and nothing else produced events;
  - each event has the outcome (and detail) its kind calls for (KINDS);
  - no event holds a NUL character (jansson, which `tlszoo events` reads them with, refuses
    "\\u0000"; events.c writes a name that is not text as "0x" and hex);
  - the listeners' accept queues are deep (a burst that overflows one gets no event);
  - the server closed every hostile connection, the silent ones at the handshake timeout;
  - RSS after a wave is back near where it was before it;
  - SIGTERM stops the server with exit status 0 and no sanitizer report in its log.
serve keeps its last 10,000 events in memory by design, so RSS climbs until that ring is
full: waves of the same mix fill it first (about 30 s), then the measured wave runs. With an
ASan build ($TLSZOO=build/asan/tlszoo) only the measured wave runs and the RSS check is
skipped (freed memory sits in ASan's quarantine); LeakSanitizer's verdict at exit counts.

Prints one ok/FAIL line per check and, last, "N passed, M failed"; exits 0 only if nothing
failed. Binary: $TLSZOO (default ./tlszoo); HOSTILE_SEED repeats a run's random choices.
Python 3.11 stdlib only; 127.0.0.1 only; a watchdog ends it after 85 s.
"""
import errno
import heapq
import json
import os
import random
import resource
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TLSZOO = os.path.abspath(os.environ.get("TLSZOO", os.path.join(ROOT, "tlszoo")))
SCENARIOS = os.path.join(ROOT, "scenarios")
HANDSHAKE_TIMEOUT = 3  # passed to serve
IDLE_TIMEOUT = 2
MAX_HELLO = 69632      # serve's default --max-hello
DRIP_INTERVAL = 0.05
DRIP_COMPLETE_BYTES = 30  # dripped before the rest: 1.5 s, well inside the timeout
VALID_HOST = "valid.tlszoo.localhost"
RSS_SLACK = (1.20, 8 << 20)  # after <= max(before * 1.2, before + 8 MiB)
RING_EVENTS = 10000        # events serve keeps in memory (server/main.c)
CLIENT_PORT_END = 29000    # our source ports lie below every server port
WALL_LIMIT = 85            # seconds; a watchdog stops everything after that

# kind -> (connections, result, detail substring or None). Variants of one kind share it.
KINDS = {
    "silent": (1000, "timeout", "no complete ClientHello in time"),
    "garbage": (1000, "malformed", None),
    "http": (100, "malformed", "HTTP request on a TLS port"),
    "truncated-wait": (100, "timeout", "no complete ClientHello in time"),
    "truncated-close": (100, "malformed", "client closed mid-ClientHello"),
    "oversized-records": (20, "malformed", f"more than {MAX_HELLO} unread bytes"),
    "oversized-declared": (20, "malformed", "handshake length 16777215 exceeds 65536"),
    "oversized-record": (20, "malformed", "record length 65535 exceeds 16384"),
    "lying-suites": (20, "malformed", "cipher suites"),
    "lying-extension": (20, "malformed", "overruns the extensions block"),
    "lying-short-message": (20, "malformed", None),
    "lying-session-id": (20, "malformed", "session_id length 64 exceeds 32"),
    "lying-short-record": (20, "malformed", "ClientHello interrupted by a record"),
    "lying-long-record": (20, "timeout", "no complete ClientHello in time"),
    "drip-timeout": (20, "timeout", "no complete ClientHello in time"),
    "alpn-nul": (20, "closed", None),  # curl's hello, ALPN "http/1.\0", then FIN (to valid)
}
TO_VALID = {"alpn-nul"}  # kinds whose outcome depends on the scenario go to valid
DRIP_COMPLETE = 10  # threads; result completed
counts = {"passed": 0, "failed": 0}


def check(ok, label, detail=""):
    counts["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + label)
    if not ok and detail:
        for line in str(detail).strip().splitlines()[:20]:
            print("     | " + line)
    sys.stdout.flush()


class SetupError(Exception):
    pass


# ---------------------------------------------------------------- source ports

class Ports:
    """Hands out client sockets bound to source ports never used before in this run, so an
    event's peer port names exactly one connection."""

    def __init__(self, avoid):
        self.next = random.randint(1024, 3000)
        self.avoid = set(avoid)
        self.lock = threading.Lock()
        self.probes = []  # ports of the readiness probes (their events say "closed")

    def socket(self):
        with self.lock:
            while self.next < CLIENT_PORT_END:
                port, self.next = self.next, self.next + 1
                if port in self.avoid:
                    continue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # A port left in TIME_WAIT by an earlier run is fine (the server's port
                # differs); a listening one still refuses.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                    return s, port
                except OSError:
                    s.close()
            raise SetupError("ran out of source ports")


# ---------------------------------------------------------------- ClientHellos

def client_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def real_hello(ctx):
    """A fresh SSLObject and the first flight it wants to send (a real ClientHello)."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=VALID_HOST)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return obj, inc, out, out.read()


def records(msg, size, version=b"\x03\x01"):
    return b"".join(b"\x16" + version + len(msg[i:i + size]).to_bytes(2, "big") + msg[i:i + size]
                    for i in range(0, len(msg), size))


def hello_fields(flight):
    """Offsets in the handshake message of a one-record hello (RFC 8446 §4.1.2)."""
    msg = flight[5:5 + int.from_bytes(flight[3:5], "big")]
    assert msg[0] == 1 and len(flight) == 5 + len(msg), "expected a one-record ClientHello"
    sid = 4 + 2 + 32
    suites = sid + 1 + msg[sid]
    comp = suites + 2 + int.from_bytes(msg[suites:suites + 2], "big")
    exts = comp + 1 + msg[comp]
    return msg, {"sid": sid, "suites": suites, "comp": comp, "exts": exts}


def put16(b, off, v):
    return b[:off] + v.to_bytes(2, "big") + b[off + 2:]


def hostile_payloads(flight):
    """kind -> function(rng) -> list of actions: bytes to send, "shut" (FIN) or a float (a
    pause in seconds)."""
    msg, f = hello_fields(flight)
    hs_len = len(msg) - 4
    with open(os.path.join(ROOT, "tests", "unit", "fixtures", "curl.hex")) as fixture:
        curl = bytes.fromhex("".join(fixture.read().split()))
    at = curl.index(b"http/1.1") + 7
    alpn_nul = curl[:at] + b"\x00" + curl[at + 1:]

    def oversized_records(rng):
        # A valid prefix of a hello that declares 65,536 body bytes (a padding extension
        # fills it), in one-byte records: it never completes and crosses --max-hello.
        body = msg[4:f["exts"]]
        pad = 65536 - len(body) - 2 - (len(msg) - f["exts"] - 2) - 4
        exts = msg[f["exts"] + 2:] + b"\x42\x42" + pad.to_bytes(2, "big") + bytes(pad)
        big = b"\x01" + (65536).to_bytes(3, "big") + body + len(exts).to_bytes(2, "big") + exts
        assert len(big) == 65540
        return [records(big, 1)[:MAX_HELLO + 6 * 500]]

    def garbage(rng):
        first = rng.choice([b for b in range(256) if b not in (0x15, 0x16)])
        return [bytes([first]) + rng.randbytes(rng.randint(0, 1023))]

    def lying_short_record(rng):
        cut = 50
        while msg[cut] == 0x16:
            cut += 1
        return [b"\x16\x03\x01" + cut.to_bytes(2, "big") + msg[:cut] + msg[cut:]]

    return {
        "silent": lambda rng: [],
        "garbage": garbage,
        "http": lambda rng: [f"GET / HTTP/1.1\r\nHost: {VALID_HOST}\r\n\r\n".encode()],
        "truncated-wait": lambda rng: [flight[:rng.randint(1, len(flight) - 1)]],
        "truncated-close": lambda rng: [flight[:rng.randint(1, len(flight) - 1)], "shut"],
        "oversized-records": oversized_records,
        "oversized-declared": lambda rng: [b"\x16\x03\x01\x00\x04\x01\xff\xff\xff"],
        "oversized-record": lambda rng: [b"\x16\x03\x01\xff\xff" + msg],
        "lying-suites": lambda rng: [flight[:5] + put16(msg, f["suites"], 0xfffe)],
        "lying-extension": lambda rng: [flight[:5] + put16(msg, f["exts"] + 4, 0xfff0)],
        "lying-short-message": lambda rng: [flight[:5] + msg[:1]
                                            + (hs_len - 10).to_bytes(3, "big") + msg[4:]],
        "lying-session-id": lambda rng: [flight[:5] + msg[:f["sid"]] + b"\x40"
                                         + msg[f["sid"] + 1:]],
        "lying-short-record": lying_short_record,
        "lying-long-record": lambda rng: [flight[:3] + (len(msg) + 100).to_bytes(2, "big")
                                          + msg],
        "drip-timeout": lambda rng: [x for b in flight for x in (bytes([b]), DRIP_INTERVAL)],
        "alpn-nul": lambda rng: [alpn_nul, "shut"],
    }


# ---------------------------------------------------------------- the hostile crowd

@dataclass
class Conn:
    kind: str
    port: int          # our source port
    sock: socket.socket
    actions: list
    t_open: float = 0.0
    t_end: float = 0.0
    out: bytes = b""
    shut_pending: bool = False
    connected: bool = False
    ended: str = ""    # "eof", "reset", "error: ..."
    received: int = 0
    mask: int = 0


class Crowd:
    """All hostile connections in one selector loop: timed sends, then wait for the server
    to close."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.timers = []  # (due, seq, conn)
        self.seq = 0
        self.open = 0

    def _watch(self, c, mask):
        if mask == c.mask:
            return
        if c.mask == 0:
            self.sel.register(c.sock, mask, c)
        elif mask == 0:
            self.sel.unregister(c.sock)
        else:
            self.sel.modify(c.sock, mask, c)
        c.mask = mask

    def start(self, c, addr):
        c.sock.setblocking(False)
        c.t_open = time.monotonic()
        rc = c.sock.connect_ex(addr)
        if rc not in (0, errno.EINPROGRESS):
            self._end(c, f"error: connect: {os.strerror(rc)}")
            return
        self.open += 1
        self._watch(c, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def _end(self, c, how):
        if c.ended:
            return
        c.ended, c.t_end = how, time.monotonic()
        if c.mask:
            self._watch(c, 0)
            self.open -= 1
        c.sock.close()

    def _next_action(self, c, now):
        while c.actions:
            a = c.actions.pop(0)
            if isinstance(a, float):
                self.seq += 1
                heapq.heappush(self.timers, (now + a, self.seq, c))
                return
            if a == "shut":
                c.shut_pending = True
            else:
                c.out += a
        self._flush(c)

    def _flush(self, c):
        try:
            while c.out:
                n = c.sock.send(c.out)
                c.out = c.out[n:]
            if c.shut_pending:
                c.sock.shutdown(socket.SHUT_WR)
                c.shut_pending = False
        except BlockingIOError:
            pass
        except OSError as e:  # the server may close on us mid-send: that is its right
            self._end(c, "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else f"error: {e}")
            return
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out or c.shut_pending else 0)
        self._watch(c, want)

    def _readable(self, c):
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self._end(c, "reset" if e.errno == errno.ECONNRESET else f"error: {e}")
            return
        if not data:
            self._end(c, "eof")
        c.received += len(data)

    def step(self, timeout):
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, c = heapq.heappop(self.timers)
            if not c.ended:
                self._next_action(c, now)
        if self.timers:
            timeout = max(0.0, min(timeout, self.timers[0][0] - now))
        for key, mask in self.sel.select(timeout):
            c = key.data
            if c.ended:
                continue
            if not c.connected and mask & selectors.EVENT_WRITE:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    self._end(c, f"error: connect: {os.strerror(err)}")
                    continue
                c.connected = True
                self._next_action(c, time.monotonic())
                continue
            if mask & selectors.EVENT_READ:
                self._readable(c)
            if not c.ended and mask & selectors.EVENT_WRITE:
                self._flush(c)


# ---------------------------------------------------------------- well-behaved clients

def https_get(ctx, ports, port, results, kind="correct"):
    """One verified HTTPS request to valid; appends (kind, source port, error or None)."""
    sock, src = ports.socket()
    err = None
    try:
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        with ctx.wrap_socket(sock, server_hostname=VALID_HOST) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {VALID_HOST}\r\n\r\n".encode())
            data = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
        if not data.startswith(b"HTTP/1.1 200 ") or b"X-Tlszoo-Scenario: valid" not in data:
            err = f"unexpected answer {data[:80]!r}"
    except (OSError, ssl.SSLError) as e:
        err = f"{type(e).__name__}: {e}"
    finally:
        sock.close()
    results.append((kind, src, err))


def correct_loop(ctx, ports, port, results, stop):
    while not stop.is_set():
        t = time.monotonic()
        https_get(ctx, ports, port, results)
        stop.wait(max(0.0, 0.1 - (time.monotonic() - t)))


def drip_complete(ctx, ports, port, results):
    """Drips the first bytes of a real hello, sends the rest, completes the handshake and a
    request: a slow but finishing client must complete."""
    sock, src = ports.socket()
    err = None
    try:
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        obj, inc, out, flight = real_hello(ctx)
        for i in range(DRIP_COMPLETE_BYTES):
            sock.sendall(flight[i:i + 1])
            time.sleep(DRIP_INTERVAL)
        sock.sendall(flight[DRIP_COMPLETE_BYTES:])
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(out.read())
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("server closed during the handshake")
                inc.write(data)
        obj.write(f"GET / HTTP/1.1\r\nHost: {VALID_HOST}\r\n\r\n".encode())
        sock.sendall(out.read())
        answer = b""
        while b"\r\n\r\n" not in answer:
            try:
                answer += obj.read(4096)
            except ssl.SSLWantReadError:
                data = sock.recv(65536)
                if not data:
                    break
                inc.write(data)
            except ssl.SSLZeroReturnError:
                break
        if not answer.startswith(b"HTTP/1.1 200 "):
            err = f"unexpected answer {answer[:80]!r}"
    except (OSError, ssl.SSLError, ConnectionError) as e:
        err = f"{type(e).__name__}: {e}"
    finally:
        sock.close()
    results.append(("drip-complete", src, err))


# ---------------------------------------------------------------- the server

def manifest(certs, offset):
    out = subprocess.run([TLSZOO, "list", "--json", "--scenarios", SCENARIOS, "--certs", certs,
                          "--port-offset", str(offset)], capture_output=True, text=True,
                         timeout=20)
    if out.returncode != 0:
        raise SetupError(f"tlszoo list --json failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def port_free(port):
    """Whether serve could listen on PORT (it sets SO_REUSEADDR as well)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start_server(tmp, ports_out):
    """Starts serve on free ports; returns (process, manifest, log path, events path)."""
    certs, log_path, events = (os.path.join(tmp, n) for n in ("certs", "serve.log",
                                                               "events.jsonl"))
    base = [s["port"] for s in manifest(certs, 0)["scenarios"]]
    for _ in range(50):
        # Server ports between ours and the kernel's ephemeral range (32768 up), where
        # other programs' outgoing connections come and go.
        offset = random.randint(CLIENT_PORT_END - min(base), 32767 - max(base))
        if not all(port_free(p + offset) for p in base):
            continue
        log = open(log_path, "w")
        proc = subprocess.Popen([TLSZOO, "serve", "--scenarios", SCENARIOS, "--certs", certs,
                                 "--port-offset", str(offset), "--events", events,
                                 "--control-port", "off", "--grace", "2",
                                 "--handshake-timeout", str(HANDSHAKE_TIMEOUT),
                                 "--idle-timeout", str(IDLE_TIMEOUT)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        m = manifest(certs, offset)
        pending = [s["port"] for s in m["scenarios"]] + [s["certificate"]["cert_file"]
                                                          for s in m["scenarios"]]
        deadline = time.monotonic() + 30
        while pending and proc.poll() is None and time.monotonic() < deadline:
            p = pending[0]
            if isinstance(p, str):
                if os.path.exists(p):
                    pending.pop(0)
                    continue
            elif ports_out is not None:
                s, src = ports_out.socket()
                try:
                    s.settimeout(1)
                    s.connect(("127.0.0.1", p))
                    ports_out.probes.append(src)
                    pending.pop(0)
                    continue
                except OSError:
                    pass
                finally:
                    s.close()
            time.sleep(0.1)
        if not pending:
            return proc, m, log_path, events
        rc = stop_server(proc)
        if rc != 2:
            raise SetupError(f"tlszoo serve did not come up (exit {rc}):\n"
                             + open(log_path).read()[-2000:])
    raise SetupError("no free port range found")


def stop_server(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "still running 10 s after SIGTERM"


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def listen_backlogs(port):
    """The accept queue lengths of the sockets listening on PORT (ss shows them as Send-Q);
    None without ss."""
    try:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                             text=True, timeout=10).stdout
    except OSError:
        return None
    return [int(line.split()[2]) for line in out.splitlines() if line.strip()]


def read_events(path):
    events = []
    with open(path) as f:
        for line in f:
            if line.strip():
                events.append(json.loads(line))
    return events


def is_asan(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


# ---------------------------------------------------------------- the test

def attack(m, ctx, ports, flight):
    """Runs everything at once; returns (hostile conns, well-behaved results)."""
    scen = {s["name"]: s["port"] for s in m["scenarios"]}
    valid = scen["valid"]
    targets = sorted(scen.values())
    rng = random.Random(int(os.environ.get("HOSTILE_SEED", random.randrange(1 << 30))))
    payloads = hostile_payloads(flight)
    plan = [kind for kind, (n, _, _) in KINDS.items() for _ in range(n)]
    rng.shuffle(plan)
    crowd, conns, results, stop = Crowd(), [], [], threading.Event()

    correct = threading.Thread(target=correct_loop, args=(ctx, ports, valid, results, stop),
                               daemon=True)
    correct.start()
    drips = [threading.Thread(target=drip_complete, args=(ctx, ports, valid, results),
                              daemon=True) for _ in range(DRIP_COMPLETE)]
    for t in drips:
        t.start()
    t0 = time.monotonic()
    deadline = t0 + 40
    while (plan or crowd.open or crowd.timers) and time.monotonic() < deadline:
        for kind in plan[:250]:  # 250 new connections every 50 ms
            sock, src = ports.socket()
            c = Conn(kind, src, sock, payloads[kind](rng))
            conns.append(c)
            crowd.start(c, ("127.0.0.1", valid if kind in TO_VALID else rng.choice(targets)))
        del plan[:250]
        crowd.step(0.05)
    for c in conns:
        if not c.ended:
            crowd._end(c, "still open when the test gave up")
    stop.set()
    for t in drips + [correct]:
        t.join(30)
    return conns, results, time.monotonic() - t0


def verify_events(events, expected):
    """expected: source port -> (kind, result, detail substring). Checks one event each, and
    that every event reads back with jansson's default flags, as `tlszoo events` reads them:
    no NUL in any string (a client's ALPN name may hold one; events.h promises hex then)."""
    def has_nul(v):
        if isinstance(v, str):
            return "\0" in v
        if isinstance(v, dict):
            v = list(v.values())
        return isinstance(v, list) and any(has_nul(x) for x in v)

    nul = [e for e in events if has_nul(e)]
    check(not nul, "no event holds a NUL character (jansson, and so `tlszoo events`, refuses "
          "\\u0000)", f"{len(nul)} events, e.g. ALPN {nul[0]['client_hello']['alpn']}"
          if nul else "")
    by_port = defaultdict(list)
    for e in events:
        by_port[int(e["peer"].rsplit(":", 1)[1])].append(e)
    missing = [p for p in expected if not by_port.get(p)]
    doubled = [p for p in expected if len(by_port.get(p, [])) > 1]
    strangers = [p for p in by_port if p not in expected]
    kinds = Counter(k for k, _, _ in expected.values())
    check(not missing and not doubled and not strangers and len(events) == len(expected),
          f"exactly one event per connection ({len(expected)} connections, {len(events)} "
          f"events)",
          f"missing for {len(missing)} connections: "
          f"{Counter(expected[p][0] for p in missing)}\n"
          f"more than one for {len(doubled)}: {Counter(expected[p][0] for p in doubled)}\n"
          f"events from unknown ports: {strangers[:10]}")
    wrong = defaultdict(list)
    for p, (kind, result, detail) in expected.items():
        for e in by_port.get(p, [])[:1]:
            o = e["outcome"]
            if o["result"] != result or (detail and detail not in o.get("detail", "")):
                wrong[kind].append(f'{o["result"]}: {o.get("detail", "")}')
    for kind in kinds:
        _, result, detail = next(v for v in expected.values() if v[0] == kind)
        bad = wrong.get(kind, [])
        check(not bad, f"{kind}: {kinds[kind]} events, each {result}"
              + (f' ("{detail}")' if detail else ""),
              f"{len(bad)} wrong, e.g.:\n" + "\n".join(f"{n} x {w}" for w, n in
                                                       Counter(bad).most_common(5)))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 6000:
        raise SetupError(f"RLIMIT_NOFILE hard limit {hard} is below the 6000 this test needs")
    asan = is_asan(TLSZOO)
    print(f"hostile: {TLSZOO}{' (ASan)' if asan else ''}")
    with tempfile.TemporaryDirectory(prefix="tlszoo-hostile-") as tmp:
        ports = Ports([])
        proc, m, log_path, events_path = start_server(tmp, ports)
        try:
            run(proc, m, ports, log_path, events_path, asan)
        finally:
            rc = stop_server(proc)
        log = open(log_path).read()
        reports = [w for w in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                               "runtime error:", "SUMMARY:") if w in log]
        check(rc == 0 and not reports, "SIGTERM: the server exits 0 with no sanitizer report",
              f"exit {rc}; {reports}\n{log[-3000:]}")


def run(proc, m, ports, log_path, events_path, asan):
    ctx = client_context(m["ca_file"])
    valid = next(s["port"] for s in m["scenarios"] if s["name"] == "valid")
    # A burst that overflows the accept queue never reaches the server, so it cannot become
    # events; serve asks for a deep queue (the kernel caps it at net.core.somaxconn).
    with open("/proc/sys/net/core/somaxconn") as f:
        deep = min(1024, int(f.read()))
    backlogs = listen_backlogs(valid)
    if backlogs is None:
        print("skip accept queue depth (no ss)")
    else:
        check(backlogs and min(backlogs) >= deep, f"listeners have a deep accept queue "
              f"(backlog {backlogs} >= {deep})", "libevent's evconnlistener_new(..., -1, fd) "
              "calls listen(fd, 128) again; pass 0 to keep the queue serve asked for")
    warm = []
    for _ in range(20):  # warm up: caches, arenas, the first TLS connections
        https_get(ctx, ports, valid, warm)
    check(all(err is None for _, _, err in warm), "warm-up: the correct client succeeds",
          "\n".join(err for _, _, err in warm if err))
    _, _, _, flight = real_hello(ctx)
    conns, results = [], []
    mib = lambda b: f"{b / (1 << 20):.1f} MiB"

    def wave(label):
        more, res, took = attack(m, ctx, ports, flight)
        conns.extend(more)
        results.extend(res)
        ends = Counter(c.ended.split(":")[0] for c in more)
        time.sleep(1.0)
        print(f"     {label}: {len(more)} hostile and {len(res)} well-behaved connections in "
              f"{took:.1f} s; client side saw {dict(ends)}; RSS {mib(rss(proc.pid))}")

    # The server keeps its last RING_EVENTS events in memory (for the control API) by design,
    # so RSS grows until that ring is full. Fill it with the same mix first; then one more
    # wave must leave RSS where it was.
    if not asan:
        start = rss(proc.pid)
        n = 0
        while len(read_events(events_path)) < RING_EVENTS + 2000 and n < 8:
            n += 1
            wave(f"fill {n}")
        print(f"     event ring full ({len(read_events(events_path))} events): RSS "
              f"{mib(start)} -> {mib(rss(proc.pid))}")
    rss_before = rss(proc.pid)
    wave("attack")

    # The server is alive and still serves.
    alive = proc.poll() is None
    after = []
    if alive:
        https_get(ctx, ports, valid, after)
    check(alive and after and after[0][2] is None, "server still running and answering",
          f"exit status {proc.poll()}" if not alive else after and after[0][2])

    correct = [r for r in results if r[0] == "correct"]
    bad = [r for r in correct if r[2]]
    check(len(correct) >= 10 and not bad,
          f"correct client kept succeeding during the attack ({len(correct)} requests)",
          "\n".join(f"{e}" for _, _, e in bad[:10]) or "too few requests")
    bad = [r for r in results if r[0] == "drip-complete" and r[2]]
    check(not bad, f"slow drip of {DRIP_COMPLETE_BYTES} bytes then the rest completes "
          f"({DRIP_COMPLETE} clients)", "\n".join(e for _, _, e in bad))

    hung = [c for c in conns if c.ended.startswith("still open")]
    failed = [c for c in conns if c.ended.startswith("error")]
    check(not hung and not failed, "the server closed every hostile connection",
          f"{len(hung)} still open: {Counter(c.kind for c in hung)}\n"
          + "\n".join(f"{c.kind}: {c.ended}" for c in failed[:10]))
    waited = sorted(c.t_end - c.t_open for c in conns if KINDS[c.kind][1] == "timeout")
    check(waited and HANDSHAKE_TIMEOUT - 0.5 <= waited[0] <= waited[-1] <= HANDSHAKE_TIMEOUT + 5,
          f"clients that stall are cut off at the handshake timeout ({len(waited)} between "
          f"{waited[0]:.1f} and {waited[-1]:.1f} s)" if waited else "stalling clients cut off",
          f"expected {HANDSHAKE_TIMEOUT} s")

    # One event per connection, the right outcome each.
    expected = {p: ("probe", "closed", None) for p in ports.probes}
    expected.update({c.port: (c.kind, *KINDS[c.kind][1:]) for c in conns})
    for kind, src, _ in warm + results + after:
        expected[src] = (kind, "completed", None)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(read_events(events_path)) < len(expected):
        time.sleep(0.2)
    time.sleep(0.5)  # anything extra would show now
    verify_events(read_events(events_path), expected)

    time.sleep(1.0)
    rss_after = rss(proc.pid)
    limit = max(rss_before * RSS_SLACK[0], rss_before + RSS_SLACK[1])
    if asan:
        print(f"skip RSS {mib(rss_before)} -> {mib(rss_after)} (ASan quarantine keeps freed "
              "memory; LeakSanitizer judges at exit)")
    else:
        check(rss_after <= limit, f"RSS back near its start: {mib(rss_before)} -> "
              f"{mib(rss_after)} (limit {mib(limit)})")


def watchdog(signum, frame):
    raise TimeoutError(f"still running after {WALL_LIMIT} s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the server on the way out
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WALL_LIMIT)
    try:
        main()
    except (SetupError, TimeoutError) as e:
        check(False, f"setup: {e}")
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)
