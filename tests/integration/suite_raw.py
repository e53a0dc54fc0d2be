"""Clients that are not TLS clients, or stop half-way.

Raw sockets send HTTP text, an SSLv2-style hello, records and handshake
messages whose lengths lie, and nothing at all; each connection is exactly
one event, malformed (with first_bytes, a hex prefix of what was sent) or
closed. Meanwhile three clients stall: half a ClientHello, nothing, and a
whole ClientHello but no second flight; each is cut off after the
handshake timeout and reported as a timeout.
"""
import socket
import threading
import time

from zoo import (HANDSHAKE_TIMEOUT, TIMEOUT, check, client_hello_bytes, describe, peer_of)

ORDER = 40

# (label, bytes sent, result, a substring of the detail)
MALFORMED = [
    ("HTTP request", b"GET / HTTP/1.1\r\nHost: valid.tlszoo.localhost\r\n\r\n",
     "malformed", "HTTP"),
    ("SSLv2-style hello", bytes.fromhex("802e0103010015000000100100800300800700c006004002008004"
                                        "0080") + bytes(16), "malformed", "SSLv2"),
    ("record length above 2^14", bytes.fromhex("1603014100") + b"\x01" * 10,
     "malformed", "record length"),
    ("record length longer than what was sent, then close", bytes.fromhex("16030118000100"),
     "malformed", "truncated"),
    ("handshake length too short for a ClientHello", bytes.fromhex("16030100050100000103"),
     "malformed", "truncated"),
    ("zero bytes, then close", b"", "closed", None),
]


def send_and_close(port, data):
    """Sends DATA, half-closes, reads until the server closes; returns the peer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        peer = peer_of(sock)
        if data:
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        for _ in range(64):
            try:
                if not sock.recv(65536):
                    break
            except OSError:
                break
    return peer


class Staller(threading.Thread):
    """Sends DATA (and, if WAIT_REPLY, reads the server's first flight), then
    waits for the server to hang up; notes when that happened."""

    def __init__(self, port, data, wait_reply=False):
        super().__init__(daemon=True)
        self.port, self.data, self.wait_reply = port, data, wait_reply
        self.peer, self.cut_after, self.error = None, None, None
        self.ready = threading.Event()

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
                self.peer = peer_of(sock)
                start = time.monotonic()
                sock.sendall(self.data)
                got_reply = False
                self.ready.set()
                for _ in range(256):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    got_reply = True
                self.cut_after = time.monotonic() - start
                if self.wait_reply and not got_reply:
                    self.error = "the server never answered the ClientHello"
        except OSError as e:
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.ready.set()


def timeout_checks(zoo, stallers, since):
    limit = HANDSHAKE_TIMEOUT * 1000
    for label, t, stage, sent in stallers:
        t.join(HANDSHAKE_TIMEOUT + 5)
        e = zoo.event_for(t.peer, since) if t.peer else None
        o = (e or {}).get("outcome", {})
        ms = (e or {}).get("handshake_ms") or 0
        check(e is not None and o.get("result") == "timeout" and o.get("stage") == stage
              and e["verdict"] == "SUSPECT" and e["bytes_in"] == sent
              and limit - 100 <= ms <= limit + 1500 and e.get("tls") is None,
              f"timeout: {label}: outcome timeout at stage {stage} after "
              f"~{HANDSHAKE_TIMEOUT} s, SUSPECT",
              f"want timeout/{stage}, SUSPECT, bytes_in {sent}, handshake_ms ~{limit}; "
              f"got {describe(e)} bytes_in {e and e['bytes_in']} handshake_ms {ms}")
        check(t.error is None and t.cut_after is not None
              and HANDSHAKE_TIMEOUT - 0.2 <= t.cut_after <= HANDSHAKE_TIMEOUT + 2,
              f"timeout: {label}: the server hangs up after the handshake timeout",
              f"want a close ~{HANDSHAKE_TIMEOUT} s after the last byte; got "
              f"{t.cut_after if t.cut_after is None else round(t.cut_after, 2)} s, {t.error}")
        if stage == "client_hello":
            # The same bytes followed by a close give client_hello null: a hello
            # that never became whole has no fields and no fingerprints.
            h = (e or {}).get("client_hello")
            check(e is not None and h is None,
                  f"timeout: {label}: client_hello is null (no whole ClientHello arrived)",
                  f"want null; got ja4 {h and h.get('ja4')}, ja3 {h and h.get('ja3')}, "
                  f"extensions {h and h.get('extensions')}")


def suite(zoo):
    valid = zoo.scenario("valid")
    since = zoo.last_id()
    hello = client_hello_bytes(valid["host"])
    stallers = [("half a ClientHello", Staller(valid["port"], hello[:len(hello) // 2]),
                 "client_hello", len(hello) // 2),
                ("nothing sent", Staller(valid["port"], b""), "client_hello", 0),
                ("ClientHello, then no second flight",
                 Staller(valid["port"], hello, wait_reply=True), "handshake", len(hello))]
    for _, t, _, _ in stallers:
        t.start()
    for _, t, _, _ in stallers:
        t.ready.wait(TIMEOUT)

    peers = []
    for label, data, result, detail in MALFORMED:
        peer = send_and_close(valid["port"], data)
        peers.append((label, data, peer))
        e = zoo.event_for(peer, since)
        o = (e or {}).get("outcome", {})
        first = o.get("first_bytes")
        if result == "malformed":
            prefix_ok = (first is not None and data.hex().startswith(first)
                         and len(first) >= 2 * min(len(data), 16))
            ok = (e is not None and o.get("result") == "malformed" and prefix_ok
                  and detail in o.get("detail", "") and e["client_hello"] is None)
            want = f"malformed, detail ~ {detail!r}, first_bytes a prefix of {data.hex()}"
        else:
            ok = (e is not None and o.get("result") == "closed" and first is None
                  and e["bytes_in"] == 0 and e["client_hello"] is None
                  and "sent nothing" in e["verdict_reason"])
            want = "closed, bytes_in 0, no first_bytes, client_hello null, 'sent nothing'"
        ok = ok and e["verdict"] == "SUSPECT" and e["bytes_in"] == len(data)
        check(ok, f"raw: {label}: {result}, SUSPECT",
              f"want {want}, SUSPECT, bytes_in {len(data)}; got {describe(e)} "
              f"first_bytes {first!r} bytes_in {e and e['bytes_in']}")

    timeout_checks(zoo, stallers, since)
    zoo.settle()
    for label, data, peer in peers:
        found = zoo.events(since, peer=peer)
        check(len(found) == 1, f"raw: {label}: exactly one event",
              f"got {len(found)}:\n" + "\n".join(map(describe, found)))
