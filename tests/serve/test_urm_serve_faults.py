"""urm-serve's answers to bad input, faults and limits: each asserts the exact
status and error body {"error": {"message", "type", "code"}}."""

import errno
import json
import os
import socket
import tempfile
import time
import unittest

from urm_serve import (SLOW_TOKENS, Server, chat_text, in_background, make_slow_model, slow_ids, urm_score,
                       wait_until)


def error(status, type_, message):
    return {"error": {"message": message, "type": type_, "code": status}}


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--max-tokens", "16", "--max-body-mb", "1")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def check(self, path, body, status, message, type_="BadRequestError"):
        got_status, headers, got = self.server.post(path, body)
        self.assertEqual((got_status, got), (status, error(status, type_, message)), body)
        self.assertEqual(headers["content-type"], "application/json")
        return headers

    def test_malformed_json(self):
        self.check("/get_reward", '{"query": [', 400,
                   "invalid JSON: [json.exception.parse_error.101] parse error at line 1, column 12: syntax error "
                   "while parsing value - unexpected end of input; expected '[', '{', or a literal")
        self.check("/classify", "[1, 2]", 400, "expected a JSON object, got an array")

    def test_missing_fields(self):
        self.check("/get_reward", {"prompts": []}, 400, "query: missing")
        self.check("/classify", {"model": "m"}, 400, "input: missing (or give \"messages\")")
        self.check("/classify", {"input": "a", "messages": []}, 400, "give one of \"input\" and \"messages\", not both")
        self.check("/v1/embeddings", {}, 400, "input: missing")
        self.check("/v1/score", {"input": []}, 400, "inputs: missing")

    def test_wrong_types(self):
        self.check("/get_reward", {"query": "one string"}, 400, "query: expected an array of strings, got a string")
        self.check("/get_reward", {"query": ["a", 7]}, 400, "query[1]: expected a string, got a number")
        self.check("/get_reward", {"query": ["a"], "labels": {"x": 1}}, 400, "labels: expected an array, got an object")
        self.check("/get_reward", {"query": ["a", "b"], "prompts": ["p"]}, 400, "prompts: 1 entries, but query has 2")
        self.check("/classify", {"model": 3, "input": "a"}, 400, "model: expected a string, got a number")
        self.check("/classify", {"input": "a", "use_activation": "no"}, 400,
                   "use_activation: expected a boolean, got a string")
        self.check("/classify", {"input": [["x"]]}, 400, "input[0][0]: expected a 32-bit integer token id, got a string")
        self.check("/classify", {"input": [5, 1e3]}, 400, "input[1]: expected a 32-bit integer token id, got a number")
        self.check("/classify", {"text": [None]}, 400, "text[0]: expected a string, got null")
        self.check("/classify", {"messages": [{"role": "user"}]}, 400, "messages[0].content: missing (a string, null or a list of parts)")
        self.check("/pooling", {"input": "a", "task": "embed"}, 400,
                   "task: \"embed\" is not supported: a reward model answers task \"classify\"")
        self.check("/v1/embeddings", {"input": {"a": 1}}, 400, "input: expected a string or an array, got an object")
        self.check("/v1/score", {"inputs": [{"text": "a"}, {"txt": "b"}]}, 400,
                   "inputs[1]: expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"")
        self.check("/v1/score", {"inputs": [{"input_ids": [1, "2"]}]}, 400,
                   "inputs[0]: input_ids[1]: expected a 32-bit integer, got \"2\"")
        self.check("/v1/score", {"inputs": [], "samples": -1}, 400,
                   "samples: expected a non-negative integer, got a number")
        self.check("/v1/score", {"inputs": [], "samples": 100001}, 400,
                   "samples: 100001 is more than the maximum of 100000")

    def test_inputs_that_cannot_be_scored(self):
        long_text = chat_text("word " * 40, "reply")
        self.check("/get_reward", {"query": ["short", long_text]}, 400,
                   "query[1]: 54 tokens, more than the maximum of 16 (start urm-serve with --truncate-left to keep "
                   "the last 16)")
        self.check("/v1/score", {"inputs": [{"input_ids": []}]}, 400,
                   "inputs[0]: empty input: there is no token to score")
        self.check("/classify", {"input": [1, 999999]}, 400,
                   "input: token id 999999 at position 1 is out of range [0, 128257)")
        self.check("/classify", {"messages": []}, 400, "messages: empty conversation: there is no message to score")

    def test_body_over_the_limit(self):
        body = json.dumps({"query": ["x" * (1 << 20)]})
        status, headers, got = self.server.post("/get_reward", body)
        self.assertEqual((status, got), (413, error(413, "PayloadTooLargeError",
                                                    "the request body is larger than the limit of 1048576 bytes "
                                                    "(--max-body-mb)")))

    def test_unknown_path_and_wrong_method(self):
        status, headers, body = self.server.request("GET", "/v1/chat/completions")
        self.assertEqual((status, json.loads(body)), (404, error(404, "NotFoundError",
                                                                 "no endpoint /v1/chat/completions")))
        status, headers, body = self.server.request("POST", "/../../etc/passwd", body="{}")
        self.assertEqual(status, 404)
        status, headers, body = self.server.request("GET", "/get_reward")
        self.assertEqual((status, json.loads(body)), (405, error(405, "MethodNotAllowedError",
                                                                 "GET is not allowed on /get_reward (use POST)")))
        self.assertEqual(headers["allow"], "POST")
        status, headers, body = self.server.request("DELETE", "/health")
        self.assertEqual((status, headers["allow"]), (405, "GET"))

    def test_truncate_left(self):
        long_text = chat_text("word " * 40, "reply")
        expected = urm_score([{"text": long_text}], "--max-tokens", "16", "--truncate-left")
        with Server("--max-tokens", "16", "--truncate-left") as s:
            status, _, out = s.post("/v1/score", {"inputs": [{"text": long_text}]})
            self.assertEqual((status, out["results"]), (200, expected))
            self.assertEqual(out["results"][0]["n_tokens"], 16)


class ApiKey(unittest.TestCase):
    def test_wrong_or_missing_key(self):
        with Server("--api-key", "s3cret-key") as s:
            msg = error(401, "AuthenticationError",
                        "missing or wrong API key (send the header \"Authorization: Bearer <key>\")")
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-ke"},
                            {"Authorization": "Bearer s3cret-key2"}, {"Authorization": "s3cret-key"}):
                status, h, body = s.post("/get_reward", {"query": ["a"]}, headers=headers)
                self.assertEqual((status, body), (401, msg), headers)
                self.assertEqual(h["www-authenticate"], "Bearer")
            status, _, body = s.request("GET", "/metrics")
            self.assertEqual(status, 401)
            ok = {"Authorization": "Bearer s3cret-key"}
            status, _, body = s.post("/get_reward", {"query": ["a"]}, headers=ok)
            self.assertEqual(status, 200)
            self.assertEqual(s.request("GET", "/health")[0], 200)  # probes need no key
            self.assertEqual(s.request("GET", "/metrics", headers=ok)[0], 200)
        with Server(env={"URM_SERVE_API_KEY": "from-env"}) as s:
            self.assertEqual(s.post("/get_reward", {"query": ["a"]})[0], 401)
            self.assertEqual(s.post("/get_reward", {"query": ["a"]},
                                    headers={"Authorization": "Bearer from-env"})[0], 200)


class SlowModel(unittest.TestCase):
    """A model slow enough that requests stay in flight while the test acts."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.model = make_slow_model(cls.dir.name)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def slow_body(self, seed, n=3):
        return {"inputs": [{"input_ids": slow_ids(SLOW_TOKENS, seed * 10 + k)} for k in range(n)]}

    def test_full_queue_gets_503(self):
        with Server("--queue", "2", "--threads", "1", model=self.model) as s:
            a = in_background(s.post, "/v1/score", self.slow_body(1))
            wait_until(lambda: s.metric("urm_requests_in_flight") == 1, what="request a in flight")
            b = in_background(s.post, "/v1/score", self.slow_body(2))
            wait_until(lambda: s.metric("urm_requests_in_flight") == 2, what="request b in flight")
            status, headers, body = s.post("/v1/score", {"inputs": [{"input_ids": [1, 2]}]})
            self.assertEqual((status, body), (503, error(503, "ServiceUnavailableError",
                                                         "the server has 2 requests in flight (--queue) or is "
                                                         "shutting down; retry later")))
            self.assertEqual(headers["retry-after"], "1")
            self.assertEqual(a.result()[0], 200)
            self.assertEqual(b.result()[0], 200)
            self.assertEqual(s.post("/v1/score", {"inputs": [{"input_ids": [1, 2]}]})[0], 200)
            self.assertEqual(s.stop(), 0)

    def test_client_that_disconnects(self):
        with Server("--queue", "4", "--threads", "1", model=self.model) as s:
            # Headers and half a body, then gone.
            c = socket.create_connection((s.host, s.port))
            c.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"inputs\": [")
            c.close()
            # A whole request, then gone before the answer: it is scored, its answer goes nowhere.
            body = json.dumps(self.slow_body(3)).encode()
            c = socket.create_connection((s.host, s.port))
            c.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
            wait_until(lambda: s.metric("urm_requests_in_flight") == 1, what="the abandoned request in flight")
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            c.close()
            # Its slot comes back, and the server goes on answering.
            wait_until(lambda: s.metric("urm_requests_in_flight") == 0, what="the slot to be freed")
            self.assertEqual(s.post("/v1/score", {"inputs": [{"input_ids": [1, 2, 3]}]})[0], 200)
            self.assertIsNone(s.proc.poll())
            self.assertEqual(s.stop(), 0)
            self.assertIn("2 requests accepted, 2 answered", s.stderr())


class OpensNoPathFromARequest(unittest.TestCase):
    def test_fifo_named_in_every_field(self):
        # If the server opened the FIFO for reading it would block (no writer), and the request would hang.
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "canary")
            os.mkfifo(fifo)
            with Server() as s:
                bodies = [("/classify", {"model": fifo, "input": fifo}),
                          ("/v1/score", {"inputs": [{"text": fifo}], "model": fifo, "tokenizer": fifo}),
                          ("/get_reward", {"query": [fifo], "prompts": [fifo], "labels": [fifo]}),
                          ("/v1/embeddings", {"model": fifo, "input": [fifo], "encoding_format": fifo})]
                for path, body in bodies:
                    status, _, _ = s.post(path, body, timeout=30)
                    self.assertEqual(status, 200, path)
                for path in ("/" + fifo, "/.." + fifo, "/v1/models/" + fifo):
                    self.assertEqual(s.request("GET", path, timeout=30)[0], 404, path)
                # Nobody holds it open for reading: a non-blocking writer cannot open it.
                with self.assertRaises(OSError) as e:
                    os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                self.assertEqual(e.exception.errno, errno.ENXIO)
                fds = os.listdir(f"/proc/{s.proc.pid}/fd")
                self.assertFalse(any(os.path.realpath(f"/proc/{s.proc.pid}/fd/{f}") == fifo for f in fds))


class Startup(unittest.TestCase):
    def test_port_in_use(self):
        with Server() as first:
            import subprocess
            from urm_serve import BIN, DEMO
            r = subprocess.run([os.path.join(BIN, "urm-serve"), "--model", DEMO, "--port", str(first.port)],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"urm-serve: cannot listen on 127.0.0.1:{first.port} (the address is in use, or not one of "
                          "this machine's)", r.stderr)

    def test_sigint_exits_0(self):
        s = Server()
        time.sleep(0.1)
        import signal
        self.assertEqual(s.stop(signal.SIGINT), 0)
        self.assertIn("urm-serve: SIGINT: no new connections", s.stderr())


if __name__ == "__main__":
    unittest.main()
