"""What the urm-serve tests share: start the real binary on a free port, talk
to it with Python's http.client (and Debian's python3-requests where a test
sends what a framework's client sends), run urm-score for reference scores,
and make a model slow enough to hold requests in flight.

Paths come from the environment CTest sets (tests/CMakeLists.txt):
URM_BIN_DIR, URM_TEST_DATA_DIR, URM_CACHE_DIR; URM_SANITIZE=1 in the
sanitizer build (fewer requests, longer waits).
"""

import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

BIN = os.environ.get("URM_BIN_DIR", "build/bin")
DATA = os.environ.get("URM_TEST_DATA_DIR", "tests/data")
CACHE = os.environ.get("URM_CACHE_DIR", ".cache")
SANITIZE = os.environ.get("URM_SANITIZE", "0") == "1"
TINY = os.path.join(DATA, "models", "tiny-urm-llama3")
DEMO = os.path.join(CACHE, "demo-model")  # tiny-urm-llama3 with the reward-model tokenizer
TIMEOUT = 600 if SANITIZE else 120


class Server:
    """build/bin/urm-serve ARGS on a free port (--port 0), until stop()."""

    def __init__(self, *args, model=DEMO, env=None):
        cmd = [os.path.join(BIN, "urm-serve"), "--port", "0", "--threads", "2"]
        if model:
            cmd += ["--model", model]
        cmd += list(args)
        # For diagnosis: e.g. URM_SERVE_EXTRA_ARGS="--prefix-cache-mb 0" runs every test without the cache.
        cmd += os.environ.get("URM_SERVE_EXTRA_ARGS", "").split()
        self.err_file = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err_file, text=True,
                                     env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"urm-serve: listening on http://([0-9.]+):(\d+)\n", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"urm-serve did not start: {line!r} {self.stderr()}")
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = f"http://{self.host}:{self.port}"

    def stderr(self):
        self.err_file.seek(0)
        return self.err_file.read()

    def request(self, method, path, body=None, headers=None, timeout=TIMEOUT, source=None):
        """(status, headers dict (lower-case names), body bytes) over a new connection."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                       source_address=(source, 0) if source else None)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            h = {"Content-Type": "application/json"} if body is not None else {}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def post(self, path, body, **kw):
        status, headers, data = self.request("POST", path, body, **kw)
        return status, headers, json.loads(data) if data else None

    def metric(self, name, headers=None):
        status, _, body = self.request("GET", "/metrics", headers=headers)
        assert status == 200, status
        m = re.search(rf"^{re.escape(name)} (\S+)$", body.decode(), re.M)
        return float(m.group(1)) if m else None

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Sends sig, waits for the exit; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.proc.stdout.close()

    def __del__(self):
        self.err_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()


def urm_score(lines, *args, model=DEMO):
    """urm-score's output objects for JSON Lines `lines` (objects)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
        f.write("".join(json.dumps(x) + "\n" for x in lines))
        f.flush()
        out = subprocess.run([os.path.join(BIN, "urm-score"), "--model", model, "--threads", "2", "--input", f.name,
                              *args, *os.environ.get("URM_SCORE_EXTRA_ARGS", "").split()], capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout
    return [json.loads(line) for line in out.splitlines()]


def chat_text(user, assistant):
    """A conversation as the Llama-3 chat template renders it (what a policy decodes, special tokens kept)."""
    return ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" + user +
            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" + assistant + "<|eot_id|>")


def make_slow_model(folder):
    """A random checkpoint slow enough (per token, and quadratically in length) that a few long inputs keep a
    request in flight for seconds (it has no tokenizer: ids only). Its vocabulary holds Llama-3's
    bos/eos ids, which urm-make-random-model's config names."""
    subprocess.run([os.path.join(BIN, "urm-make-random-model"), "--dtype", "float32", "--out", folder,
                    "--hidden", "256", "--layers", "6", "--heads", "4", "--kv-heads", "2", "--ffn", "768",
                    "--vocab", "128256"], check=True, capture_output=True, timeout=TIMEOUT)
    return folder


# Tokens per input of the slow model: the sanitizer build runs it several times slower.
SLOW_TOKENS = 300 if SANITIZE else 1500


def slow_ids(n, seed):
    return [(seed * 7919 + i * 104729) % 997 + 1 for i in range(n)]


def wait_until(pred, timeout=TIMEOUT, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def in_background(fn, *args):
    """Runs fn(*args) on a thread; .result() joins and returns (or raises) what it gave."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised on result()
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    class Handle:
        def result(self, timeout=TIMEOUT):
            t.join(timeout)
            if t.is_alive():
                raise AssertionError("background request did not finish")
            if "error" in box:
                raise box["error"]
            return box["value"]

    return Handle()
