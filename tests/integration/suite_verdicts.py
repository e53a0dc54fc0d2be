"""Verdicts, read through the control API for each client's own connection.

For every `reject` scenario in /api/scenarios, a correct client (openssl
s_client, curl, Python's ssl, all verifying) earns a PASS event naming the
alert that ended the handshake, and an insecure client (curl -k, Python
with CERT_NONE, s_client without verification, each followed by a request;
for protocol defects also allowing the old version or suite) earns a FAIL
event whose reason names the defect. For the `accept` scenarios that refuse
some clients (sni-strict, mtls-required), the refused client earns a FAIL
with the server's alert and a detail saying what was missing, and the
correct client a PASS. Each event is found by the client's source port.
"""
from dataclasses import replace

from zoo import (allow_tls10, check, curl, describe, free_port, no_verification, openssl,
                 python_ssl, tls12_only)

ORDER = 20


# What the server sees from a correct client, where it is not the client
# alert expect.alert: (result, alert, stage, a substring of the detail).
SEEN = {
    # The server refuses: there is no common suite before any certificate.
    ("cipher-restricted", c): ("server_alert", "handshake_failure", "client_hello",
                               "no common cipher suite")
    for c in ("openssl", "curl", "python")
} | {
    # OpenSSL 3.0 takes the TLS 1.0 ServerHello, then refuses the SHA-1
    # signed key exchange with internal_error (scenarios/tls10-only.yaml).
    ("tls10-only", "openssl"): ("client_alert", "internal_error", "handshake", None),
    ("tls10-only", "curl"): ("client_alert", "internal_error", "handshake", None),
    # Python offers TLS 1.2+ suites only: none is usable with TLS 1.0.
    ("tls10-only", "python"): ("server_alert", "handshake_failure", "client_hello",
                               "no common cipher suite"),
    # curl checks the name after the handshake and hangs up without an alert
    # or a request: the server cannot tell that from a late check.
    ("wrong-host", "curl"): ("completed", None, None, None),
}

# The one thing an insecure client relaxes beyond verification, per defect.
INSECURE_EXTRA = {
    "tls10-only": {"openssl": ("-tls1", "-cipher", "DEFAULT@SECLEVEL=0"),
                   "curl": ("--tlsv1.0", "--ciphers", "DEFAULT@SECLEVEL=0"),
                   "python": (allow_tls10,)},
    "cipher-restricted": {"openssl": ("-cipher", "CAMELLIA128-SHA"),
                          "curl": ("--ciphers", "CAMELLIA128-SHA"),
                          "python": (lambda ctx: ctx.set_ciphers("CAMELLIA128-SHA"),)},
}


def connect(zoo, client, call, verify_return_error=True):
    """Runs CLIENT from a known source port; returns (exit code, output, event)."""
    since = zoo.last_id()
    if client == "python":
        where = {}
        rc, out = python_ssl(call, where)
        peer = where.get("peer")
    else:
        port = free_port()
        peer = f"127.0.0.1:{port}"
        if client == "openssl":
            rc, out = openssl(replace(call, extra=call.extra + ("-bind", peer)),
                              verify_return_error)
        else:
            rc, out = curl(replace(call, extra=call.extra + ("--local-port", str(port))))
    event = zoo.event_for(peer, since) if peer else None
    return rc, out, event


def alert_of(e):
    return ((e or {}).get("outcome", {}).get("alert") or {}).get("name")


def correct_client(zoo, s, client):
    want_result, want_alert, want_stage, want_detail = SEEN.get(
        (s["name"], client), ("client_alert", s["expect"]["alert"], "handshake", None))
    want_verdict = "SUSPECT" if want_result == "completed" else "PASS"
    rc, out, e = connect(zoo, client, zoo.call(s))
    o = (e or {}).get("outcome", {})
    ok = (e is not None and e["scenario"] == s["name"] and e["verdict"] == want_verdict
          and o.get("result") == want_result and alert_of(e) == want_alert
          and (want_stage is None or (o.get("alert") or {}).get("stage") == want_stage)
          and (want_detail is None or want_detail in o.get("detail", ""))
          and (want_alert is None or want_alert in e["verdict_reason"])
          and not e["application_data"])
    seen = f"{want_result} {want_alert or ''}".strip()
    check(ok and rc != 0, f"{s['name']} {client} verifying: {want_verdict} event, {seen}",
          f"want {want_verdict}, {seen} (stage {want_stage}, detail ~ {want_detail!r}); "
          f"got {describe(e)}\nclient exit {rc}:\n{out}")


def insecure_client(zoo, s, client):
    extra = INSECURE_EXTRA.get(s["name"], {}).get(client, ())
    if client == "openssl":  # no -verify_return_error, no -verify_hostname, no CA
        call = zoo.call(s, verify=None, cafile=None, extra=extra)
    elif client == "curl":
        call = zoo.call(s, extra=("--insecure",) + extra)
    else:
        call = zoo.call(s, extra=(no_verification,) + extra)
    rc, out, e = connect(zoo, client, call, verify_return_error=False)
    note = {"openssl": "s_client without verification", "curl": "curl -k",
            "python": "CERT_NONE"}[client]
    ok = (e is not None and e["verdict"] == "FAIL" and e["outcome"]["result"] == "completed"
          and e["application_data"] and s["summary"] in e["verdict_reason"])
    check(ok and f"tlszoo scenario '{s['name']}'" in out,
          f"{s['name']} {client} ({note}) sends a request: FAIL event naming the defect",
          f"want FAIL, completed, application data, reason naming {s['summary']!r}; "
          f"got {describe(e)}\nclient exit {rc}:\n{out}")


def refused(zoo, s, client, label, call, alert, detail):
    """An accept scenario refusing CLIENT: FAIL, the server's alert, DETAIL."""
    rc, out, e = connect(zoo, client, call)
    o = (e or {}).get("outcome", {})
    ok = (e is not None and e["verdict"] == "FAIL" and o.get("result") == "server_alert"
          and alert_of(e) == alert and detail in o.get("detail", "")
          and detail in e["verdict_reason"])
    check(ok and rc != 0, f"{s['name']} {client} {label}: FAIL event, server_alert {alert}",
          f"want FAIL, server_alert {alert}, detail ~ {detail!r}; got {describe(e)}\n"
          f"client exit {rc}:\n{out}")


def accepted(zoo, s, client, label, call, tls_check=None):
    rc, out, e = connect(zoo, client, call)
    ok = (e is not None and e["verdict"] == "PASS" and e["outcome"]["result"] == "completed"
          and e["application_data"] and (tls_check is None or tls_check(e["tls"] or {})))
    check(ok and rc == 0, f"{s['name']} {client} {label}: PASS event",
          f"want PASS, completed with a request; got {describe(e)} tls={e and e['tls']}\n"
          f"client exit {rc}:\n{out}")


def accept_checks(zoo):
    sni, mtls = zoo.scenario("sni-strict"), zoo.scenario("mtls-required")
    no_sni = "client sent no server_name (SNI)"
    for client in ("openssl", "curl", "python"):
        refused(zoo, sni, client, "without SNI", zoo.call(sni, sni=None, verify=None),
                "unrecognized_name", no_sni)
    refused(zoo, sni, "python", "with SNI 'localhost'",
            zoo.call(sni, sni="localhost", verify="localhost"), "unrecognized_name",
            "client asked for 'localhost'")
    for client in ("openssl", "curl", "python"):
        accepted(zoo, sni, client, "with the right SNI", zoo.call(sni))

    no_cert = "client presented no certificate"
    for client in ("openssl", "curl", "python"):
        refused(zoo, mtls, client, "without a certificate (TLS 1.3)", zoo.call(mtls),
                "certificate_required", no_cert)
    # TLS 1.2 has no certificate_required: a server that insists on a client
    # certificate aborts with handshake_failure (RFC 5246 §7.4.6).
    refused(zoo, mtls, "python", "without a certificate (TLS 1.2)",
            zoo.call(mtls, extra=(tls12_only,)), "handshake_failure", no_cert)
    refused(zoo, mtls, "openssl", "without a certificate (TLS 1.2)",
            zoo.call(mtls, extra=("-tls1_2",)), "handshake_failure", no_cert)
    cert = (zoo.m["client_cert_file"], zoo.m["client_key_file"])

    def client_cert(tls):
        c = tls.get("client_certificate") or {}
        return "tlszoo client" in c.get("subject", "") and "Client CA" in c.get("issuer", "")
    for client in ("openssl", "curl", "python"):
        accepted(zoo, mtls, client, "with client.pem", zoo.call(mtls, cert=cert), client_cert)


def suite(zoo):
    status, catalog = zoo.api_json("/api/scenarios")
    reject = [s for s in catalog["scenarios"] if s["expect"]["outcome"] == "reject"]
    check(status == 200 and len(reject) >= 1,
          f"/api/scenarios lists {len(reject)} reject scenarios", f"{status} {catalog}")
    for s in reject:
        for client in ("openssl", "curl", "python"):
            correct_client(zoo, s, client)
        for client in ("openssl", "curl", "python"):
            insecure_client(zoo, s, client)
    accept_checks(zoo)
