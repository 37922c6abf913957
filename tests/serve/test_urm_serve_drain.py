"""SIGTERM under load: urm-serve stops accepting, answers every request it
accepted (none is lost: the clients receive as many answers as the server
accepted), and exits 0. The model is slow so that several requests are in
flight when the signal arrives."""

import re
import signal
import tempfile
import threading
import time
import unittest

from urm_serve import SLOW_TOKENS, Server, make_slow_model, slow_ids, wait_until

CLIENTS = 6


class Drain(unittest.TestCase):
    def test_sigterm_under_load(self):
        with tempfile.TemporaryDirectory() as d:
            s = Server("--threads", "1", model=make_slow_model(d))
            outcomes, lock, stop = [], threading.Lock(), threading.Event()

            def client(c):
                k = 0
                while not stop.is_set():
                    k += 1
                    body = {"inputs": [{"input_ids": slow_ids(SLOW_TOKENS // 2, c * 1000 + k)}]}
                    try:
                        status, _, out = s.post("/v1/score", body, timeout=300)
                        result = ("answer", status, out["results"][0]["n_tokens"] if status == 200 else out)
                    except (ConnectionError, OSError) as e:  # refused or reset: never accepted
                        result = ("no connection", type(e).__name__, None)
                        stop.wait(0.05)
                    with lock:
                        outcomes.append(result)

            threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
            for t in threads:
                t.start()
            wait_until(lambda: (s.metric("urm_requests_in_flight") or 0) >= 3, what="requests in flight")
            s.proc.send_signal(signal.SIGTERM)
            self.assertEqual(s.stop(), 0)
            time.sleep(0.3)  # clients now only meet a closed port
            stop.set()
            for t in threads:
                t.join()

            answers = [o for o in outcomes if o[0] == "answer"]
            self.assertTrue(all(o[1] == 200 and o[2] == SLOW_TOKENS // 2 for o in answers), answers)
            m = re.search(r"(\d+) requests accepted, (\d+) answered", s.stderr())
            self.assertIsNotNone(m, s.stderr())
            accepted, answered = int(m.group(1)), int(m.group(2))
            self.assertEqual(accepted, answered)
            self.assertEqual(len(answers), answered)  # every answer reached its client
            self.assertGreaterEqual(answered, 3)
            self.assertIn("urm-serve: SIGTERM: no new connections; answering the requests in flight", s.stderr())
            self.assertGreater(len(outcomes), len(answers))  # and later requests found it closed


if __name__ == "__main__":
    unittest.main()
