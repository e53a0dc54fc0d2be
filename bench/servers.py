"""The two servers `make bench` compares, as processes it starts and stops:
tlszoo, and Debian's nginx with a config of its own in a temporary prefix.
Also what is read from /proc about them: CPU time (utime+stime, over every
process of the server), resident memory (VmRSS, summed) and open sockets.
Every wait is bounded; stop() is safe to call twice. Python stdlib only."""
import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"


def port_accepts(port, timeout=0.2):
    """True if a TCP connect to 127.0.0.1:port succeeds."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port):
    """True if nothing listens on 127.0.0.1:port and we could bind it."""
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def children(pid):
    """PIDs whose parent is pid (nginx's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def cpu_seconds(pid):
    """(utime, stime) of one process, all its threads, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # fields 14, 15 of stat(5)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class Server:
    """A server process (and for nginx its workers) on known ports."""

    name = "server"

    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.log_path = os.path.join(workdir, f"{self.name}.log")

    def command(self):
        raise NotImplementedError

    def ports(self):
        raise NotImplementedError

    def start(self, wait=15.0):
        """Starts the server and waits until every port accepts."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + wait
        pending = set(self.ports())
        while pending and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            pending = {p for p in pending if not port_accepts(p)}
            if pending:
                time.sleep(0.02)
        if pending:
            self.stop()
            raise RuntimeError(f"{self.name} did not listen on {sorted(pending)}; "
                               f"see {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid] + children(self.proc.pid)

    def cpu(self):
        """(user, system) CPU seconds over every process of the server."""
        times = [cpu_seconds(p) for p in self.pids()]
        return sum(t[0] for t in times), sum(t[1] for t in times)

    def rss(self):
        return sum(rss_kib(p) for p in self.pids())

    def fds(self):
        return sum(open_fds(p) for p in self.pids())

    def stop(self, grace=10.0):
        """SIGTERM, then SIGKILL to the whole process group after grace."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with_signal(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with_signal(self.proc, signal.SIGKILL, group=True)
                self.proc.wait(timeout=grace)
        self.proc = None


def with_signal(proc, sig, group=False):
    try:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except ProcessLookupError:
        pass


class Tlszoo(Server):
    name = "tlszoo"

    def __init__(self, workdir, binary, scenarios, certs, offset, ports, extra=()):
        super().__init__(workdir)
        self.binary, self.scenarios, self.certs = binary, scenarios, certs
        self.offset, self._ports, self.extra = offset, list(ports), list(extra)

    def command(self):
        return [self.binary, "serve", "--scenarios", self.scenarios, "--certs", self.certs,
                "--port-offset", str(self.offset), "--events", "/dev/null",
                "--control-port", "off", *self.extra]

    def ports(self):
        return self._ports


NGINX_SITE = """
    server {{
        listen {host}:{port} ssl reuseport;
        ssl_protocols {protocol};
        ssl_certificate {chain};
        ssl_certificate_key {key};
        location / {{ return 200 "ok\\n"; }}
    }}
"""

NGINX_CONF = """# Written by bench/run.py for one benchmark run.
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    ssl_session_cache off;
    ssl_session_tickets off;
    ssl_ecdh_curve X25519;
    client_header_timeout 600s;
    keepalive_timeout 600s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{sites}}}
"""


class Nginx(Server):
    """sites: list of (port, protocol e.g. "TLSv1.3", chain file, key file)."""

    name = "nginx"

    def __init__(self, workdir, sites, workers, nofile):
        super().__init__(workdir)
        self.prefix = os.path.join(workdir, "nginx")
        self.sites = sites
        self.conf = os.path.join(self.prefix, "nginx.conf")
        os.makedirs(self.prefix, exist_ok=True)
        text = "".join(NGINX_SITE.format(host=HOST, port=p, protocol=proto, chain=c, key=k)
                       for p, proto, c, k in sites)
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(workers=workers, nofile=nofile, prefix=self.prefix,
                                      connections=max(1024, nofile - 64), sites=text))

    def command(self):
        return ["nginx", "-p", self.prefix, "-c", self.conf, "-e", "stderr",
                "-g", "daemon off;"]

    def ports(self):
        return [s[0] for s in self.sites]
