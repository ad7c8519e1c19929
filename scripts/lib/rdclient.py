"""scripts/lib/rdclient.py — small loopback clients of the real server for the scripts
(scripts/hostile, scripts/bench.d/overview.sh): start the server binary on a free port,
a minimal RFC 6455 WebSocket client, the server's RSS."""
import base64
import os
import re
import signal
import socket
import subprocess
import time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def start_server(bindir, run_dir, log, env=None, args=()):
    """Starts BINDIR/server on a free loopback port: (Popen, port)."""
    srv = subprocess.Popen([os.path.join(bindir, "server"), "--run-dir", run_dir, "--port", "0",
                            *args], stdout=log, stderr=log, env=env)
    for _ in range(400):
        log.seek(0)
        m = re.search(r"listening on http://[^ ]*:(\d+)/", log.read())
        if m:
            return srv, int(m.group(1))
        if srv.poll() is not None:
            break
        time.sleep(0.05)
    stop_server(srv)
    raise SystemExit("the server did not start")


def stop_server(srv):
    if srv.poll() is None:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


class WS:
    """A minimal RFC 6455 client: handshake, masked text frames out, whole messages in."""

    def __init__(self, port, path, headers=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        hdr = {"Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        hdr.update(headers or {})
        req = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdr.items()) + "\r\n"
        self.s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.s.recv(4096)
        if not data.startswith(b"HTTP/1.1 101"):
            raise SystemExit(f"hostile: upgrade to {path} refused: {data[:60]!r}")
        self.buf = data.split(b"\r\n\r\n", 1)[1]

    def send(self, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
            (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.s.sendall(head + mask + body)

    def close(self):
        self.s.close()

    def recv(self, timeout=10.0):
        """One whole text message (fragments joined), as bytes."""
        self.s.settimeout(timeout)
        msg = b""
        while True:
            while len(self.buf) < 2:
                self.buf += self._more()
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                while len(self.buf) < 4:
                    self.buf += self._more()
                n, off = int.from_bytes(self.buf[2:4], "big"), 4
            elif n == 127:
                while len(self.buf) < 10:
                    self.buf += self._more()
                n, off = int.from_bytes(self.buf[2:10], "big"), 10
            while len(self.buf) < off + n:
                self.buf += self._more()
            msg += self.buf[off:off + n]
            self.buf = self.buf[off + n:]
            if b0 & 0x80:
                return msg

    def _more(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise ConnectionError("closed")
        return d

