"""Helpers shared by the server benchmarks (tools/bench_proxy.py, tools/bench_feed.py).

Process measurements from outside (CPU seconds and RSS from /proc), free ports, waiting for a
server to listen, the descriptor limit, and a Processes group that stops everything it started
by PID (on return, on error and on SIGINT/SIGTERM). Python 3 standard library only.
"""
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (and its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return float("nan")


def find_tool(name):
    """A tool on PATH, or in /usr/sbin (where Debian installs haproxy and nats-server)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=5.0):
    """True once 127.0.0.1:port accepts a connection; False if `proc` exits or time runs out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def raise_nofile(want=20000):
    """Raises the soft descriptor limit towards `want` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = want if hard == resource.RLIM_INFINITY else min(hard, want)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Processes:
    """The processes a benchmark started; stop() ends them by PID (SIGTERM, then SIGKILL).

    install_signals() makes SIGINT/SIGTERM stop them and exit (130/143); `on_exit` runs after.
    """

    def __init__(self, on_exit=None):
        self.procs = []
        self.on_exit = on_exit

    def start(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def stop_one(self, p, timeout=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in list(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        if self.on_exit:
            self.on_exit()

    def install_signals(self):
        signal.signal(signal.SIGINT, lambda *a: (self.stop(), sys.exit(130)))
        signal.signal(signal.SIGTERM, lambda *a: (self.stop(), sys.exit(143)))
