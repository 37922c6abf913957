"""urm-serve under load: 16 concurrent clients x 50 requests each (fewer in
the sanitizer build), a mix of valid and invalid ones, two rounds. Every
request is answered; every valid reward equals urm-score's for the same text,
bit for bit; the resident memory does not grow from the first round to the
second (the prefix cache is full of the same prompts by then)."""

import json
import random
import threading
import unittest

from urm_serve import SANITIZE, Server, chat_text, urm_score

CLIENTS = 16
PER_CLIENT = 8 if SANITIZE else 50
PROMPTS = [f"Question {p}: how would you explain topic number {p} to a child? " * 3 for p in range(6)]
RESPONSES = [f"Answer variant {r}, with some words." for r in range(8)]
TEXTS = [chat_text(p, r) for p in PROMPTS for r in RESPONSES]


class Load(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.expected = {t: o["reward"] for t, o in zip(TEXTS, urm_score([{"text": t} for t in TEXTS]))}

    def client(self, server, seed, outcomes, lock):
        rng = random.Random(seed)
        for _ in range(PER_CLIENT):
            kind = rng.choice(["get_reward", "get_reward", "classify", "embeddings", "bad_json", "bad_type",
                               "not_found", "too_long"])
            texts = rng.sample(TEXTS, rng.randint(1, 3))
            try:
                if kind == "get_reward":
                    status, _, body = server.post("/get_reward", {"query": texts})
                    ok = status == 200 and body["rewards"] == [self.expected[t] for t in texts]
                elif kind == "classify":
                    status, _, body = server.post("/classify", {"model": "m", "input": texts[0], "activation": False})
                    ok = status == 200 and body["data"][-1]["probs"][-1] == self.expected[texts[0]]
                elif kind == "embeddings":
                    status, _, body = server.post("/v1/embeddings", {"model": "m", "input": texts})
                    ok = status == 200 and [d["embedding"][-1] for d in body["data"]] == [self.expected[t] for t in texts]
                elif kind == "bad_json":
                    status, _, body = server.request("POST", "/get_reward", body='{"query": ["a"')
                    ok = status == 400 and json.loads(body)["error"]["message"].startswith("invalid JSON: ")
                elif kind == "bad_type":
                    status, _, body = server.post("/get_reward", {"query": [1]})
                    ok = status == 400 and body["error"]["message"] == "query[0]: expected a string, got a number"
                elif kind == "not_found":
                    status, _, body = server.request("POST", "/v2/reward", body="{}")
                    ok = status == 404
                else:
                    status, _, body = server.post("/get_reward", {"query": [texts[0], "x " * 3000]})
                    ok = status == 400 and body["error"]["message"].startswith("query[1]: ")
            except Exception as e:  # noqa: BLE001 - every request must be answered: count it as a failure
                ok, status = False, repr(e)
            with lock:
                outcomes.append((kind, status, ok))

    def round(self, server, seed):
        outcomes, lock = [], threading.Lock()
        threads = [threading.Thread(target=self.client, args=(server, seed * 100 + c, outcomes, lock))
                   for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(outcomes), CLIENTS * PER_CLIENT)
        bad = [o for o in outcomes if not o[2]]
        self.assertEqual(bad, [])
        return outcomes

    def test_two_rounds(self):
        with Server("--max-tokens", "1024") as s:
            first = self.round(s, 1)
            rss_first = s.rss_kib()
            second = self.round(s, 2)
            rss_second = s.rss_kib()
            # Stable: within 10% (+16 MiB of allocator slack) of the first round's.
            self.assertLessEqual(rss_second, rss_first * 1.10 + 16 * 1024, (rss_first, rss_second))
            answered = sum(1 for o in first + second if o[0] in ("get_reward", "classify", "embeddings"))
            self.assertEqual(s.metric("urm_requests_in_flight"), 0)
            self.assertEqual(s.metric("urm_queue_depth"), 0)
            self.assertEqual(s.stop(), 0)
            self.assertIn(f"{answered} requests accepted, {answered} answered", s.stderr())


if __name__ == "__main__":
    unittest.main()
