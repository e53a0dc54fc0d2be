"""Load: 2,000 connections from 8 concurrent clients, one event each.

A quarter each: completed (Python's ssl, a request, the answer), aborted
(the ClientHello, then close), reset (the ClientHello, then SO_LINGER 0 and
close: an RST) and silent (connect, close). Afterwards there are exactly
2,000 new events (counted by id after a quiet point, and as lines in the
events file), every line parses, every connection's source port has its
event, and each event says what its connection did.
"""
import json
import socket
import ssl
import struct
import threading
import time
from collections import Counter, defaultdict

from zoo import SCENARIOS, TIMEOUT, check, client_hello_bytes, describe, peer_of, request, tlszoo

ORDER = 90  # last: the busiest

CONNECTIONS = 2000
THREADS = 8
KINDS = ("completed", "aborted", "reset", "silent")
TIME_LIMIT = 60  # seconds for all connections
LINGER_0 = struct.pack("ii", 1, 0)


def expected(kind, e, hello_len):
    """True if event E is what a KIND connection should produce."""
    o = e["outcome"]
    if kind == "completed":
        return o["result"] == "completed" and e["verdict"] == "PASS" and e["application_data"]
    if kind == "silent":
        return (o["result"] == "closed" and e["bytes_in"] == 0 and e["verdict"] == "SUSPECT"
                and e["client_hello"] is None)
    # aborted and reset: the ClientHello arrived, then the client went away
    # (a close may surface as a reset when the server's flight crossed it).
    return (o["result"] in ("closed", "reset") and e["bytes_in"] == hello_len
            and e["verdict"] == "FAIL" and e["client_hello"] is not None
            and not e["application_data"])


class Loader(threading.Thread):
    """Makes connections N, N+THREADS, ... of the mix; notes (peer, kind)."""

    def __init__(self, index, scenario, ctx, hello, deadline):
        super().__init__(daemon=True)
        self.index, self.s, self.ctx, self.hello = index, scenario, ctx, hello
        self.deadline = deadline
        self.done, self.errors = [], Counter()

    def one(self, kind):
        addr = ("127.0.0.1", self.s["port"])
        with socket.create_connection(addr, timeout=TIMEOUT) as sock:
            peer = peer_of(sock)
            if kind == "completed":
                with self.ctx.wrap_socket(sock, server_hostname=self.s["host"]) as tls:
                    tls.sendall(request(self.s["host"]))
                    for _ in range(64):
                        if not tls.recv(65536):
                            break
            elif kind == "aborted":
                sock.sendall(self.hello)
            elif kind == "reset":
                sock.sendall(self.hello)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
        return peer

    def run(self):
        for n in range(self.index, CONNECTIONS, THREADS):
            if time.monotonic() > self.deadline:
                self.errors["time limit reached"] += 1
                break
            kind = KINDS[n % len(KINDS)]
            try:
                self.done.append((self.one(kind), kind))
            except (OSError, ssl.SSLError) as e:
                self.errors[f"{kind}: {type(e).__name__}: {e}"] += 1


def suite(zoo):
    s = zoo.scenario("valid")
    ctx = ssl.create_default_context(cafile=zoo.m["ca_file"])
    hello = client_hello_bytes(s["host"])
    before = zoo.settle()
    with open(zoo.events_path) as f:
        lines_before = len(f.read().splitlines())

    started = time.monotonic()
    loaders = [Loader(i, s, ctx, hello, started + TIME_LIMIT) for i in range(THREADS)]
    for t in loaders:
        t.start()
    for t in loaders:
        t.join(max(1, started + TIME_LIMIT + TIMEOUT - time.monotonic()))
    elapsed = time.monotonic() - started
    done = [d for t in loaders for d in t.done]
    errors = sum((t.errors for t in loaders), Counter())
    check(len(done) == CONNECTIONS and not errors and not any(t.is_alive() for t in loaders),
          f"load: {len(done)} connections from {THREADS} threads in {elapsed:.1f} s "
          f"(limit {TIME_LIMIT} s)",
          f"want {CONNECTIONS} without errors; errors: {dict(errors.most_common(5))}")

    events = zoo.wait_events(before, len(done), timeout=15)
    time.sleep(0.3)  # nothing more may come
    events = zoo.events(before)
    check(len(events) == len(done), f"load: {len(events)} new events for {len(done)} connections",
          f"want exactly {len(done)}; by result: "
          f"{dict(Counter(e['outcome']['result'] for e in events))}")

    with open(zoo.events_path) as f:
        lines = f.read().splitlines()
    new, bad = lines[lines_before:], []
    for line in new:
        try:
            json.loads(line)
        except ValueError as e:
            bad.append(f"{e}: {line[:200]}")
    check(len(new) == len(done) and not bad,
          f"load: the events file has {len(new)} new lines, all JSON",
          f"want {len(done)}; unparsable: {bad[:3]}")

    kinds = defaultdict(list)  # a source port may be reused by a later connection
    for peer, kind in done:
        kinds[peer].append(kind)
    by_peer = defaultdict(list)
    for e in events:
        by_peer[e["peer"]].append(e)
    unmatched = [peer for peer in kinds if len(by_peer.get(peer, [])) != len(kinds[peer])]
    strangers = [peer for peer in by_peer if peer not in kinds]
    check(not unmatched and not strangers,
          "load: every connection's source port has exactly its events, no others",
          f"{len(unmatched)} ports without their events (e.g. {unmatched[:3]}), "
          f"{len(strangers)} events from unknown ports (e.g. {strangers[:3]})")

    wrong = []
    for peer, mine in by_peer.items():
        for e in mine:
            if not any(expected(k, e, len(hello)) for k in kinds.get(peer, [])):
                wrong.append(f"{'/'.join(kinds.get(peer, ['?']))}: {describe(e)}")
    check(not wrong, "load: each event says what its connection did",
          f"{len(wrong)} events do not:\n" + "\n".join(wrong[:10]))

    # More events than one API page (1,000): the command line pages on.
    p = tlszoo("events", "--json", "--since", str(before), "--scenarios", SCENARIOS,
               "--port-offset", str(zoo.offset))
    printed = p.stdout.splitlines()
    ids = [json.loads(line).get("id") for line in printed[:1] + printed[-1:]]
    want_ids = [e["id"] for e in events[:1] + events[-1:]]
    check(p.returncode == 0 and len(printed) == len(events) and ids == want_ids,
          f"load: events --json --since {before} prints all {len(events)} events",
          f"exit {p.returncode}; printed {len(printed)} lines, first and last ids {ids}; want "
          f"{len(events)}, ids {want_ids}; stderr {p.stderr!r}")

    results = Counter((e["outcome"]["result"], e["verdict"]) for e in events)
    want = Counter(kind for _, kind in done)
    silent = sum(1 for e in events if expected("silent", e, len(hello)))
    gone = results[("closed", "FAIL")] + results[("reset", "FAIL")]
    check(results[("completed", "PASS")] == want["completed"] and silent == want["silent"]
          and gone == want["aborted"] + want["reset"],
          f"load: per result {dict(sorted(results.items()))} matches the mix "
          f"{dict(sorted(want.items()))}",
          "want completed/PASS = completed, closed/SUSPECT with 0 bytes = silent, "
          "closed or reset/FAIL = aborted + reset")
