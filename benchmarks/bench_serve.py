#!/usr/bin/python3
"""bench_serve — urm-serve's throughput with and without the prefix cache on
GRPO-shaped traffic: C concurrent clients, each sending the G responses of
its own prompt, one request per response (POST /v1/score with token ids, so
the lengths are exact). Cache-on and cache-off servers are run interleaved,
each run with prompts no server has seen, and every run's scores are checked
equal between the two settings.

  build/bin/urm-make-random-model --shape llama3-1b --dtype bfloat16 --out /tmp/serve-1b
  benchmarks/bench_serve.py --model /tmp/serve-1b --mode fast --pairs 2

Prints, per run: wall time, tokens/s (all tokens of all requests over the
wall time), p50 and p99 latency of a single request; then the speed-up.
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def start(bin_dir, model, args):
    cmd = [os.path.join(bin_dir, "urm-serve"), "--model", model, "--port", "0", *args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    m = re.fullmatch(r"urm-serve: listening on http://([0-9.]+):(\d+)\n", p.stdout.readline())
    if not m:
        p.kill()
        sys.exit("urm-serve did not start")
    return p, m.group(1), int(m.group(2))


def post(host, port, body):
    c = http.client.HTTPConnection(host, port, timeout=3600)
    c.request("POST", "/v1/score", body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        sys.exit(f"HTTP {r.status}: {data[:200]!r}")
    return json.loads(data)["results"]


def run(host, port, a, seed):
    rng = random.Random(seed)
    prompts = [[rng.randrange(1000, 100000) for _ in range(a.prompt_tokens)] for _ in range(a.clients)]
    responses = [[[rng.randrange(1000, 100000) for _ in range(a.response_tokens)] for _ in range(a.responses)]
                 for _ in range(a.clients)]
    latencies, rewards, lock = [], {}, threading.Lock()

    def client(c):
        for g in range(a.responses):  # one request per response, as OpenRLHF and verl send them
            t0 = time.perf_counter()
            [res] = post(host, port, {"inputs": [{"input_ids": prompts[c] + responses[c][g]}]})
            with lock:
                latencies.append(time.perf_counter() - t0)
                rewards[(c, g)] = res["reward"]

    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    tokens = a.clients * a.responses * (a.prompt_tokens + a.response_tokens)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return wall, tokens / wall, statistics.median(latencies), p99, rewards


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin"))
    ap.add_argument("--mode", default="exact")
    ap.add_argument("--threads", default=str(os.cpu_count()))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--responses", type=int, default=8)
    ap.add_argument("--prompt-tokens", type=int, default=400)
    ap.add_argument("--response-tokens", type=int, default=100)
    ap.add_argument("--pairs", type=int, default=1, help="cache-on / cache-off runs, interleaved")
    ap.add_argument("--first-pair", type=int, default=0,
                    help="index of the first pair (even: cache on first, odd: off first; its prompts' seed)")
    a = ap.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, load average "
          f"{os.getloadavg()[0]:.1f}; model {a.model}, --mode {a.mode} --threads {a.threads}; {a.clients} clients x "
          f"{a.responses} requests of {a.prompt_tokens} + {a.response_tokens} tokens")
    results = {"on": [], "off": []}
    for pair in range(a.first_pair, a.first_pair + a.pairs):
        seen = {}
        for name, mb in (("off", "0"), ("on", "2048")) if pair % 2 else (("on", "2048"), ("off", "0")):
            p, host, port = start(a.bin, a.model, ["--mode", a.mode, "--threads", a.threads, "--prefix-cache-mb", mb])
            try:
                post(host, port, {"inputs": [{"input_ids": [1000, 1001]}]})  # warm-up: pages, packing done
                wall, tps, p50, p99, rewards = run(host, port, a, seed=1000 + pair)
            finally:
                p.terminate()
                p.wait()
            results[name].append(tps)
            seen[name] = rewards
            print(f"pair {pair} cache {name:3}: {wall:7.1f} s  {tps:7.1f} tokens/s  latency p50 {p50:6.2f} s  "
                  f"p99 {p99:6.2f} s  (load average {os.getloadavg()[0]:.1f})", flush=True)
        same = seen["on"] == seen["off"]
        print(f"pair {pair}: scores with and without the cache {'bitwise equal' if same else 'DIFFER'}")
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    print(f"median: cache on {on:.1f} tokens/s, cache off {off:.1f} tokens/s, speed-up {on / off:.2f}x "
          f"(token ratio of the workload {(a.prompt_tokens + a.response_tokens) * a.responses / (a.prompt_tokens + a.response_tokens * a.responses):.2f}x)")


if __name__ == "__main__":
    main()
