"""urm-serve's endpoints, driven the way each framework's client drives them,
with every reward compared bit for bit with what urm-score prints for the same
input (JSON floats are doubles widened from the same float32)."""

import json
import math
import subprocess
import time
import unittest

import requests

from urm_serve import DEMO, Server, chat_text, urm_score

PROMPT = "Explain why the sky is blue, in two sentences."
RESPONSES = ["Rayleigh scattering: short wavelengths scatter more.", "Because it reflects the ocean.",
             "Air molecules scatter blue light more than red, so the sky looks blue from every direction."]
QUERIES = [chat_text(PROMPT, r) for r in RESPONSES]
MESSAGES = [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": RESPONSES[0]}]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


class Endpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.expected = urm_score([{"text": q} for q in QUERIES])  # urm-score's objects for the texts
        cls.rewards = [e["reward"] for e in cls.expected]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_openrlhf_get_reward_with_its_client(self):
        # openrlhf/utils/remote_rm_utils.py request_api_wrapper: requests.post(url, json=data,
        # headers={"Content-Type": "application/json"}, timeout=180), then response.json().
        data = {"query": QUERIES, "prompts": [PROMPT] * 3, "labels": ["", "", ""]}
        response = requests.post(url=self.server.url + "/get_reward", json=data,
                                 headers={"Content-Type": "application/json"}, timeout=180)
        response.raise_for_status()
        body = response.json()
        self.assertEqual(list(body), ["rewards", "scores", "extra_logs"])
        self.assertEqual(body["rewards"], self.rewards)
        self.assertEqual(body["scores"], self.rewards)
        logs = body["extra_logs"]
        names = [a["name"] for a in self.expected[0]["attributes"]]
        self.assertEqual(list(logs), [f"{n}_{k}" for n in names for k in ("mean", "log_std")] + ["reward_std"])
        for i, e in enumerate(self.expected):
            for a in e["attributes"]:
                self.assertEqual(logs[a["name"] + "_mean"][i], a["mean"])
                self.assertEqual(logs[a["name"] + "_log_std"][i], a["log_std"])
            self.assertAlmostEqual(logs["reward_std"][i], math.sqrt(e["reward_variance"]), places=6)
        # Older OpenRLHF sends only "query"; labels may be null.
        status, _, body = self.server.post("/get_reward", {"query": QUERIES[:1], "labels": None})
        self.assertEqual((status, body["rewards"]), (200, self.rewards[:1]))

    def test_vllm_classify_as_verl_sends_it(self):
        # verl's reward loop (vllm): {"model", "input": prompt, "activation": False} — or "use_activation": False
        # from vLLM 0.11.2 — then output["data"][-1]["probs"][-1].
        for flag in ("activation", "use_activation"):
            status, _, out = self.server.post("/classify", {"model": "/models/some/path", "input": QUERIES[1],
                                                            flag: False})
            self.assertEqual(status, 200)
            self.assertEqual(out["data"][-1]["probs"][-1], self.rewards[1])
        self.assertEqual(list(out), ["id", "object", "created", "model", "data", "usage"])
        self.assertRegex(out["id"], r"^classify-[0-9a-f]{32}$")
        self.assertEqual(out["object"], "list")
        self.assertIsInstance(out["created"], int)
        self.assertEqual(out["model"], "demo-model")
        self.assertEqual(out["data"], [{"index": 0, "label": "reward", "probs": [self.rewards[1]], "num_classes": 1}])
        n = self.expected[1]["n_tokens"]
        self.assertEqual(out["usage"], {"prompt_tokens": n, "total_tokens": n, "completion_tokens": 0,
                                        "prompt_tokens_details": None})

    def test_vllm_classify_activation_as_vllm_resolves_it(self):
        # vllm/config/pooler.py get_use_activation: softmax, then activation, then use_activation; None = true.
        cases = [({}, True), ({"use_activation": None}, True), ({"use_activation": True}, True),
                 ({"activation": True, "use_activation": False}, True), ({"activation": None, "use_activation": False},
                                                                          False), ({"softmax": False}, False)]
        for fields, activated in cases:
            status, _, out = self.server.post("/classify", {"input": QUERIES, **fields})
            self.assertEqual(status, 200, fields)
            for i, item in enumerate(out["data"]):
                self.assertEqual(item["index"], i)
                p = item["probs"][0]
                if activated:
                    self.assertAlmostEqual(p, sigmoid(self.rewards[i]), places=6)
                else:
                    self.assertEqual(p, self.rewards[i])

    def test_vllm_classify_messages_and_token_ids(self):
        [chat] = urm_score([{"messages": MESSAGES}])
        status, _, out = self.server.post("/classify", {"model": "m", "messages": MESSAGES, "use_activation": False})
        self.assertEqual((status, out["data"][0]["probs"]), (200, [chat["reward"]]))
        ids = [128000, 9906, 1917]
        [by_ids] = urm_score([{"input_ids": ids}])
        status, _, out = self.server.post("/classify", {"input": ids, "use_activation": False})
        self.assertEqual(out["data"][0]["probs"], [by_ids["reward"]])
        status, _, out = self.server.post("/classify", {"input": [ids, ids[:2]], "use_activation": False})
        self.assertEqual(len(out["data"]), 2)
        self.assertEqual(out["data"][0]["probs"], [by_ids["reward"]])

    def test_vllm_pooling(self):
        status, _, out = self.server.post("/pooling", {"model": "m", "input": QUERIES, "task": "classify",
                                                       "use_activation": False})
        self.assertEqual(status, 200)
        self.assertEqual(list(out), ["id", "object", "created", "model", "data", "usage"])
        self.assertRegex(out["id"], r"^pool-[0-9a-f]{32}$")
        self.assertEqual(out["data"], [{"index": i, "object": "pooling", "data": [r]} for i, r in enumerate(self.rewards)])
        self.assertEqual(out["data"][-1]["data"][-1], self.rewards[-1])
        status, _, out = self.server.post("/pooling", {"messages": MESSAGES})
        [chat] = urm_score([{"messages": MESSAGES}])
        self.assertAlmostEqual(out["data"][0]["data"][0], sigmoid(chat["reward"]), places=6)

    def test_sglang_embeddings_as_verl_reads_them(self):
        # verl's reward loop (sglang): {"model", "input": prompt} to v1/embeddings, reads data[-1].embedding[-1].
        status, _, out = self.server.post("/v1/embeddings", {"model": "m", "input": QUERIES[2]})
        self.assertEqual(status, 200)
        self.assertEqual(out["data"][-1]["embedding"][-1], self.rewards[2])
        self.assertEqual(list(out), ["object", "data", "model", "usage"])
        self.assertEqual(out["data"], [{"object": "embedding", "embedding": [self.rewards[2]], "index": 0}])
        status, _, out = self.server.post("/v1/embeddings", {"model": "m", "input": QUERIES})
        self.assertEqual([d["embedding"][0] for d in out["data"]], self.rewards)

    def test_sglang_classify_text(self):
        # SGLang's reward-model docs: requests.post(url + "/classify", json={"model": ..., "text": prompts}),
        # then response["embedding"][0] for each.
        status, _, out = self.server.post("/classify", {"model": "m", "text": QUERIES})
        self.assertEqual(status, 200)
        self.assertEqual([r["embedding"][0] for r in out], self.rewards)
        self.assertEqual(out[0]["meta_info"]["prompt_tokens"], self.expected[0]["n_tokens"])
        status, _, one = self.server.post("/classify", {"model": "m", "text": QUERIES[0]})
        self.assertEqual(one["embedding"], [self.rewards[0]])

    def test_native_score_is_what_urm_score_prints(self):
        inputs = [{"text": QUERIES[0]}, {"messages": MESSAGES}, {"input_ids": [128000, 9906, 1917]}]
        status, _, out = self.server.post("/v1/score", {"inputs": inputs})
        self.assertEqual(status, 200)
        self.assertEqual(out["results"], urm_score(inputs))
        self.assertEqual(list(out), ["model", "results", "usage"])
        status, _, out = self.server.post("/v1/score", {"inputs": inputs, "samples": 4, "seed": 77})
        self.assertEqual(out["results"], urm_score(inputs, "--samples", "4", "--seed", "77"))
        self.assertEqual(len(out["results"][2]["reward_samples"]), 4)
        status, _, out = self.server.post("/v1/score", {"inputs": []})
        self.assertEqual((status, out["results"]), (200, []))

    def test_trl_reward_function(self):
        # A TRL reward function: def reward_fn(prompts, completions, **kw) -> list[float], calling /v1/score.
        def reward_fn(prompts, completions, **kwargs):
            inputs = [{"messages": p + c} for p, c in zip(prompts, completions)]
            r = requests.post(self.server.url + "/v1/score", json={"inputs": inputs}, timeout=60)
            r.raise_for_status()
            return [x["reward"] for x in r.json()["results"]]

        prompts = [[{"role": "user", "content": PROMPT}]] * 2
        completions = [[{"role": "assistant", "content": c}] for c in RESPONSES[:2]]
        expected = urm_score([{"messages": p + c} for p, c in zip(prompts, completions)])
        self.assertEqual(reward_fn(prompts, completions), [e["reward"] for e in expected])

    def test_curl_each_endpoint(self):
        def curl(*args):
            out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                                 check=True, timeout=60).stdout
            body, code = out.rsplit("\n", 1)
            return int(code), body

        u = self.server.url
        q = json.dumps(QUERIES[0])
        self.assertEqual(curl(u + "/health"), (200, ""))
        code, body = curl(u + "/v1/models")
        self.assertEqual(json.loads(body)["data"][0]["id"], "demo-model")
        code, body = curl(u + "/metrics")
        self.assertIn("# TYPE urm_requests_total counter", body)
        posts = {
            "/get_reward": ('{"query": [%s]}' % q, lambda j: j["rewards"][0]),
            "/classify": ('{"model": "m", "input": %s, "use_activation": false}' % q, lambda j: j["data"][-1]["probs"][-1]),
            "/pooling": ('{"model": "m", "input": %s, "use_activation": false}' % q, lambda j: j["data"][-1]["data"][-1]),
            "/v1/embeddings": ('{"model": "m", "input": %s}' % q, lambda j: j["data"][-1]["embedding"][-1]),
            "/v1/score": ('{"inputs": [{"text": %s}]}' % q, lambda j: j["results"][0]["reward"]),
        }
        for path, (body, read) in posts.items():
            code, out = curl("-H", "Content-Type: application/json", "-d", body, u + path)
            self.assertEqual(code, 200, path)
            self.assertEqual(read(json.loads(out)), self.rewards[0], path)
        code, out = curl("-d", '{"model": "m", "text": [%s]}' % q, u + "/classify")
        self.assertEqual(json.loads(out)[0]["embedding"][0], self.rewards[0])

    def test_operations(self):
        status, _, body = self.server.request("GET", "/health")
        self.assertEqual((status, body), (200, b""))
        status, _, body = self.server.request("GET", "/v1/models")
        models = json.loads(body)
        self.assertEqual(models["object"], "list")
        self.assertEqual({k: models["data"][0][k] for k in ("id", "object", "owned_by", "max_model_len")},
                         {"id": "demo-model", "object": "model", "owned_by": "urm.cpp", "max_model_len": 8192})
        # Two queries that share their prompt: the second reuses its K/V (the first only the chat header's).
        self.server.post("/get_reward", {"query": [chat_text("a fresh prompt " * 8, "one")]})
        hits = self.server.metric("urm_prefix_cache_hits_total")
        saved = self.server.metric("urm_prefix_cache_tokens_saved_total")
        self.server.post("/get_reward", {"query": [chat_text("a fresh prompt " * 8, "two")]})
        self.assertEqual(self.server.metric("urm_prefix_cache_hits_total"), hits + 1)
        self.assertGreaterEqual(self.server.metric("urm_prefix_cache_tokens_saved_total"), saved + 30)
        # The last request's slot is released just after its answer is sent.
        deadline = time.time() + 10
        while self.server.metric("urm_requests_in_flight") != 0 and time.time() < deadline:
            time.sleep(0.01)
        status, headers, body = self.server.request("GET", "/metrics")
        text = body.decode()
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        for name in ("urm_requests_total{endpoint=\"/get_reward\",status=\"200\"}", "urm_tokens_scored_total",
                     "urm_queue_depth 0", "urm_requests_in_flight 0", "urm_request_duration_seconds_bucket",
                     "urm_prefix_cache_bytes"):
            self.assertIn(name, text)


class Tokenization(unittest.TestCase):
    def test_single_bos_as_urm_score(self):
        text = {"text": QUERIES[0]}
        [card] = urm_score([text])
        [single] = urm_score([text], "--single-bos")
        self.assertEqual(single["n_tokens"], card["n_tokens"] - 1)  # the post-processor's BOS is left out
        with Server("--single-bos") as s:
            status, _, out = s.post("/get_reward", {"query": [QUERIES[0]]})
            self.assertEqual(out["rewards"], [single["reward"]])
            # vLLM's per-request add_special_tokens overrides the policy.
            status, _, out = s.post("/classify", {"input": QUERIES[0], "use_activation": False,
                                                  "add_special_tokens": True})
            self.assertEqual(out["data"][0]["probs"], [card["reward"]])
            self.assertEqual(s.stop(), 0)

    def test_served_model_name(self):
        with Server("--served-model-name", "urm-8b") as s:
            status, _, out = s.post("/classify", {"model": "anything", "input": "hi"})
            self.assertEqual(out["model"], "urm-8b")
            status, _, body = s.request("GET", "/v1/models")
            self.assertEqual(json.loads(body)["data"][0]["id"], "urm-8b")


if __name__ == "__main__":
    unittest.main()
