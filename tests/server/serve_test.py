#!/usr/bin/env python3
"""End-to-end tests of `tinymamba serve`: each server starts on an ephemeral port on 127.0.0.1 and is spoken to
with http.client, as a client would. Usage: serve_test.py TINYMAMBA_CLI MODEL_DIR. Every wait is bounded."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CLI, MODEL = sys.argv[1], sys.argv[2]
TIMEOUT = 60  # seconds for any one HTTP exchange; the tiny model answers in milliseconds
with open(CLI, "rb") as f:
    _binary = f.read()
SANITIZED = b"__asan_init" in _binary or b"__tsan_init" in _binary  # a sanitizer build of the CLI
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


class Server:
    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile(prefix="tinymamba-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([CLI, "serve", "-m", MODEL, "--port", "0", "--threads", "1", *args],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            with open(self.log.name) as f:
                for line in f:
                    if "listening on http://127.0.0.1:" in line:
                        self.port = int(line.split("127.0.0.1:")[1].split()[0])
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("server did not start: " + open(self.log.name).read())

    def request(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text.decode("utf-8", "replace")

    def complete(self, **body):
        status, reply = self.request("POST", "/v1/completions", body)
        assert status == 200, (status, reply)
        return reply

    def stream(self, **body):
        """The streamed chunks (parsed) of one completion, and whether [DONE] ended it."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        c.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)))
        r = c.getresponse()
        assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
        chunks, done = [], False
        for line in r:
            line = line.decode("utf-8").rstrip("\n")
            if not line:
                continue
            assert line.startswith("data: "), line
            if line == "data: [DONE]":
                done = True
                break
            chunks.append(json.loads(line[6:]))
        c.close()
        return chunks, done

    def metric(self, name):
        _, text = self.request("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        check(rc == 0, f"server exits 0 on signal {sig}, got {rc}: {open(self.log.name).read()[-2000:]}")
        os.unlink(self.log.name)


def streamed_text(chunks):
    return "".join(ch["choices"][0]["text"] for ch in chunks)


def generate(prompt, n, seed, *flags):
    out = subprocess.run([CLI, "generate", "-m", MODEL, "-p", prompt, "-n", str(n), "--seed", str(seed),
                          "--threads", "1", *flags], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(prompt) and out.stdout.endswith("\n")
    return out.stdout[len(prompt):-1]


SAMPLED = dict(temperature=0.8, top_k=40, top_p=0.95)
PROMPTS = ["ROMEO:", "JULIET:\nO", "First Citizen:\nBefore we proceed", "KING HENRY", "To be, or not",
           "MENENIUS:\nThere was a time", "Now is the winter", "HAMLET:\nAy", "O, pardon me", "Friends, Romans",
           "CORIOLANUS:\nYou common cry", "What light", "LEAR:\nBlow", "Is this a dagger", "Good night", "PROSPERO:"]


LONG_PROMPT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
               "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n")


def check_same_as_generate(server_flags, generate_flags):
    s = Server(*server_flags)
    try:
        # a short prompt (steps only on the aligned schedule) and one of 150+ tokens (aligned chunks, then steps)
        for prompt, seed in [("ROMEO:", 1), ("First Citizen:\nBefore we proceed", 7), (LONG_PROMPT, 3)]:
            want = generate(prompt, 40, seed, "--temperature", "0.8", "--top-k", "40", "--top-p", "0.95",
                            *generate_flags)
            got = s.complete(prompt=prompt, max_tokens=40, seed=seed, **SAMPLED)
            check(got["choices"][0]["text"] == want, f"plain completion of {prompt!r} equals generate")
            check(got["choices"][0]["finish_reason"] == "length", "finish_reason length")
            chunks, done = s.stream(prompt=prompt, max_tokens=40, seed=seed, **SAMPLED)
            check(done and streamed_text(chunks) == want, f"streamed completion of {prompt!r} equals generate")
            check(chunks[-1]["choices"][0]["finish_reason"] == "length", "the last chunk has the finish_reason")
            check("usage" not in chunks[-1], "no usage chunk unless asked for")
        for prompt in ["KING", LONG_PROMPT]:
            want = generate(prompt, 30, 0, "--temperature", "0", *generate_flags)
            got = s.complete(prompt=prompt, max_tokens=30, temperature=0)["choices"][0]["text"]
            check(got == want, f"greedy completion of {prompt[:10]!r}... equals generate")
            # again: the second time the prompt's state comes from the cache (when there is one), same tokens
            got = s.complete(prompt=prompt, max_tokens=30, temperature=0)["choices"][0]["text"]
            check(got == want, f"greedy completion of {prompt[:10]!r}... equals generate the second time")
    finally:
        s.stop()


def test_same_as_generate():
    """Plain and streamed completions equal `tinymamba generate` for the same seed: with the defaults of both (the
    aligned prefill, the server's state cache on), and with --parallel-prefill on both (no cache)."""
    check_same_as_generate([], [])
    check_same_as_generate(["--parallel-prefill", "--state-cache-mb", "0"], ["--parallel-prefill"])


def test_batch_invariance_16_streams():
    """16 concurrent streams give, bit for bit, the tokens each gives alone (seeded sampling and greedy)."""
    s = Server("--parallel", "16", "--state-cache-mb", "0")
    try:
        reqs = [dict(prompt=p, max_tokens=24 + 3 * i, seed=100 + i, logprobs=1, **(SAMPLED if i % 2 else {"temperature": 0}))
                for i, p in enumerate(PROMPTS)]
        alone = [s.complete(**r)["choices"][0] for r in reqs]
        results = [None] * len(reqs)

        def run(i):
            results[i] = s.stream(**reqs[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(reqs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        for i, (a, res) in enumerate(zip(alone, results)):
            check(res is not None and res[1], f"stream {i} ended with [DONE]")
            if res is None:
                continue
            ids = [tid for ch in res[0] if ch["choices"][0]["logprobs"] for tid in ch["choices"][0]["logprobs"]["token_ids"]]
            check(ids == a["logprobs"]["token_ids"], f"stream {i}: the same token ids beside 15 others as alone")
            check(streamed_text(res[0]) == a["text"], f"stream {i}: the same text")
        hist = s.metric('tinymamba_batch_size_bucket{le="8"}')
        count = s.metric("tinymamba_batch_size_count")
        check(count > hist, "some decode steps ran more than 8 sequences together")
    finally:
        s.stop()


def test_state_cache():
    """A prompt that starts with a cached state resumes there and gives the cold run's tokens, bit for bit."""
    cold = Server("--state-cache-mb", "0")
    warm = Server("--state-cache-mb", "64")
    try:
        prompt = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 7  # 427 tokens
        req = dict(prompt=prompt, max_tokens=10, seed=3, logprobs=0, **SAMPLED)
        want = cold.complete(**req)
        first = warm.complete(**req)
        check(first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0, "the first run finds nothing cached")
        again = warm.complete(**req)
        n = again["usage"]["prompt_tokens"]
        check(n == 427, "a byte-level prompt of 427 tokens")
        check(again["usage"]["prompt_tokens_details"]["cached_tokens"] == n - 1,
              f"the same prompt again resumes at its last token but one: {again['usage']}")
        for name, got in [("first", first), ("again", again)]:
            check(got["choices"][0]["logprobs"]["token_ids"] == want["choices"][0]["logprobs"]["token_ids"],
                  f"{name}: cached and cold runs give the same tokens")
            check(got["choices"][0]["logprobs"]["token_logprobs"] == want["choices"][0]["logprobs"]["token_logprobs"],
                  f"{name}: ... and the same log-probabilities, bit for bit")
        # The next turn of a conversation resumes where the last completion ended, token 436, not at a block
        # boundary (its 446 tokens are absorbed by the forward up to 384 and by steps from there, as turn 1's).
        turn2 = prompt + want["choices"][0]["text"] + "\nSecond:\n"
        req2 = dict(req, prompt=turn2)
        got2 = warm.complete(**req2)
        cached2 = got2["usage"]["prompt_tokens_details"]["cached_tokens"]
        check(cached2 == n + 10 - 1, f"turn 2 resumes after the first completion's tokens but its last: {cached2}")
        want2 = cold.complete(**req2)
        check(got2["choices"][0]["logprobs"]["token_ids"] == want2["choices"][0]["logprobs"]["token_ids"],
              "turn 2 from the cache equals turn 2 cold")
        # A turn long enough to move the forward's end past the snapshot resumes at a chunk end instead.
        turn3 = turn2 + want2["choices"][0]["text"] + "\nThird Citizen:\nWe are accounted poor citizens.\n" * 3
        req3 = dict(req, prompt=turn3)
        got3 = warm.complete(**req3)
        cached3 = got3["usage"]["prompt_tokens_details"]["cached_tokens"]
        check(cached3 > 0 and cached3 % 64 == 0, f"turn 3 resumes at a chunk end: {cached3}")
        check(got3["choices"][0]["logprobs"]["token_ids"] == cold.complete(**req3)["choices"][0]["logprobs"]["token_ids"],
              "turn 3 from the cache equals turn 3 cold")
        # A streamed request hits too.
        chunks, _ = warm.stream(**req)
        check(streamed_text(chunks) == want["choices"][0]["text"], "a streamed cache hit equals the cold run")
        check(warm.metric("tinymamba_cache_hits_total") >= 3, "metrics count the hits")
        check(warm.metric("tinymamba_cached_prompt_tokens_total") >= 2 * (n - 1), "metrics count the cached tokens")
    finally:
        cold.stop()
        warm.stop()


def test_endpoints_and_fields():
    s = Server()
    try:
        check(s.request("GET", "/health") == (200, {"status": "ok"}), "health")
        status, models = s.request("GET", "/v1/models")
        check(status == 200 and models["data"][0]["id"] == os.path.basename(MODEL), "models")
        status, tok = s.request("POST", "/tokenize", {"content": "héllo"})
        check(status == 200 and tok["tokens"] == list("héllo".encode()), "tokenize (byte-level: one id per byte)")
        status, detok = s.request("POST", "/detokenize", {"tokens": tok["tokens"]})
        check(status == 200 and detok["content"] == "héllo", "detokenize")

        r = s.complete(prompt="ROMEO:", max_tokens=10, temperature=0, echo=True)
        check(r["object"] == "text_completion" and r["id"].startswith("cmpl-") and r["model"], "response head")
        check(r["choices"][0]["text"].startswith("ROMEO:") and len(r["choices"][0]["text"]) > 6, "echo")
        check(r["usage"] == {"prompt_tokens": 6, "completion_tokens": 10, "total_tokens": 16,
                             "prompt_tokens_details": r["usage"]["prompt_tokens_details"]}, f"usage {r['usage']}")
        plain = s.complete(prompt="ROMEO:", max_tokens=10, temperature=0)["choices"][0]["text"]
        check(r["choices"][0]["text"] == "ROMEO:" + plain, "echo prepends the prompt")
        # A token array, and a list of prompts: one choice each, in order.
        ids = s.request("POST", "/tokenize", {"content": "ROMEO:"})[1]["tokens"]
        check(s.complete(prompt=ids, max_tokens=10, temperature=0)["choices"][0]["text"] == plain, "token-array prompt")
        multi = s.complete(prompt=["ROMEO:", ids, "JULIET:"], max_tokens=5, temperature=0)
        check([c["index"] for c in multi["choices"]] == [0, 1, 2], "a choice per prompt")
        check(multi["choices"][1]["text"] == plain[:len(multi["choices"][1]["text"])], "list of prompts")

        # Stop strings: the text ends before the first one, finish_reason stop; streamed the same.
        long = s.complete(prompt="ROMEO:", max_tokens=60, temperature=0)["choices"][0]["text"]
        stop = long[20:23]
        cut = long[:long.index(stop)]
        got = s.complete(prompt="ROMEO:", max_tokens=60, temperature=0, stop=[stop, "zzzz"])["choices"][0]
        check(got["text"] == cut and got["finish_reason"] == "stop", f"stop string {stop!r}: {got}")
        chunks, _ = s.stream(prompt="ROMEO:", max_tokens=7, stream_options={"include_usage": True})
        check(chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 7, "streamed usage")
        chunks, _ = s.stream(prompt="ROMEO:", max_tokens=60, temperature=0, stop=stop)
        check(streamed_text(chunks) == cut and chunks[-1]["choices"][0]["finish_reason"] == "stop", "streamed stop")

        # Logprobs: greedy picks the top alternative; alternatives in descending order; all are log-probabilities.
        lp = s.complete(prompt="ROMEO:", max_tokens=8, temperature=0, logprobs=3)["choices"][0]["logprobs"]
        check(len(lp["tokens"]) == 8 and len(lp["top_logprobs"]) == 8, "a logprobs entry per token")
        for i in range(8):
            alts = lp["top_logprobs_ids"][i]
            check(alts[0][0] == lp["token_ids"][i] and alts[0][1] == lp["token_logprobs"][i], "greedy = top alternative")
            check(all(alts[j][1] >= alts[j + 1][1] for j in range(2)) and alts[0][1] <= 0, "alternatives sorted")
            check(sum(2.718281828459045 ** a[1] for a in alts) <= 1 + 1e-5, "probabilities sum to at most 1")
        # max_tokens 0 with echo: the prompt back, nothing generated.
        z = s.complete(prompt="ROMEO:", max_tokens=0, echo=True)
        check(z["choices"][0]["text"] == "ROMEO:" and z["usage"]["completion_tokens"] == 0, "max_tokens 0")
        # Streamed text splits on UTF-8 boundaries: every chunk is whole characters (JSON carries valid UTF-8).
        chunks, _ = s.stream(prompt="é", max_tokens=40, seed=5, temperature=1.5)
        check(all("\ufffd" not in ch["choices"][0]["text"] for ch in chunks[:-1]), "chunks hold whole characters")
    finally:
        s.stop()


def test_bad_input():
    s = Server("--ctx-max", "64", "--max-queue", "2")
    try:
        cases = [
            (b"{", 400, None), (b"[1]", 400, None), (b'{"prompt": "\xff"}', 400, None),
            (json.dumps({"prompt": "a", "max_tokens": "5"}).encode(), 400, "max_tokens"),
            (json.dumps({"prompt": "a", "max_tokens": 64}).encode(), 400, "max_tokens"),  # 1 + 64 > 64
            (json.dumps({"prompt": "a" * 65}).encode(), 400, "prompt"),
            (json.dumps({"prompt": "a", "temperature": -1}).encode(), 400, "temperature"),
            (json.dumps({"prompt": "a", "top_p": 7}).encode(), 400, "top_p"),
            (json.dumps({"prompt": "a", "n": 2}).encode(), 400, "n"),
            (json.dumps({"prompt": "a", "bogus": 1}).encode(), 400, "bogus"),
            (json.dumps({"prompt": [1, 999]}).encode(), 400, "prompt[1]"),
            (json.dumps({"prompt": ["a", "b", "c"]}).encode(), 503, None),  # 3 sequences > a queue of 2
            (b'{"prompt": "' + b"a" * (9 << 20) + b'"}', 413, None),
        ]
        for raw, want_status, param in cases:
            status, body = s.request("POST", "/v1/completions", raw=raw)
            ok = status == want_status and isinstance(body, dict) and set(body["error"]) == {"message", "type", "param"}
            check(ok and body["error"]["param"] == param, f"{raw[:60]!r}: {status} {str(body)[:200]}")
        status, body = s.request("GET", "/nope")
        check(status == 404 and "error" in body, "unknown route 404")
        status, body = s.request("POST", "/detokenize", {"tokens": [1, -1]})
        check(status == 400 and body["error"]["param"] == "tokens[1]", "detokenize bad id")
        check(s.request("GET", "/health")[0] == 200, "still serving after every bad input")
    finally:
        s.stop()


def test_api_key():
    s = Server("--api-key", "sekrit")
    try:
        body = {"prompt": "a", "max_tokens": 2}
        check(s.request("POST", "/v1/completions", body)[0] == 401, "no key: 401")
        status, err = s.request("POST", "/v1/completions", body, {"Authorization": "Bearer wrong"})
        check(status == 401 and err["error"]["type"] == "authentication_error", "wrong key: 401")
        check(s.request("POST", "/v1/completions", body, {"Authorization": "Bearer sekrit"})[0] == 200, "right key")
        check(s.request("GET", "/health")[0] == 200, "health needs no key")
    finally:
        s.stop()


def test_disconnect_slow_reader_soak_and_shutdown():
    s = Server("--parallel", "2", "--ctx-max", "1000000", "--state-cache-mb", "2")
    try:
        # A client that goes away mid-stream frees its slot at once.
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT)
        body = json.dumps({"prompt": "ROMEO:", "max_tokens": 500000, "stream": True}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        got = b""
        while b"data: " not in got and len(got) < 65536:
            more = sock.recv(4096)
            if not more:
                break
            got += more
        check(b"data: " in got, "the stream starts")
        sock.close()
        deadline = time.time() + 10
        while time.time() < deadline and s.metric("tinymamba_active_sequences") > 0:
            time.sleep(0.05)
        check(s.metric("tinymamba_active_sequences") == 0, "a disconnect frees the slot")
        check(s.metric("tinymamba_generated_tokens_total") < 500000, "the abandoned stream stopped early")

        # A reader that does not read does not hold the others up.
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        t0 = time.time()
        for _ in range(5):
            s.complete(prompt="JULIET:", max_tokens=50, temperature=0)
        check(time.time() - t0 < 20, "other requests complete beside a slow reader")
        slow.close()

        # Memory stays flat over a soak of short requests (cache bounded at 2 MiB, so it evicts throughout).
        for i in range(300):
            s.complete(prompt=f"soak {i}", max_tokens=2, seed=i)
        before = s.rss_kb()
        for i in range(300, 1800):
            s.complete(prompt=f"soak {i}", max_tokens=2, seed=i)
        growth = s.rss_kb() - before
        # 1500 requests; any per-request leak of even 4 KB would add 6 MB. The allowance covers allocator noise.
        # Sanitizer builds keep freed memory (ASan's quarantine) or grow shadow memory (TSan): they check leaks
        # and races instead.
        if not SANITIZED:
            check(growth < 6000, f"RSS grew {growth} KB over 1500 requests")

        # SIGINT during a stream: the stream ends (with an error event) and the server exits 0.
        result = {}

        def run():
            result["r"] = s.stream(prompt="ROMEO:", max_tokens=500000)

        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
    finally:
        s.stop(signal.SIGINT)
    t.join(TIMEOUT)
    check("r" in result and result["r"][1], "a running stream is ended cleanly on shutdown")


if __name__ == "__main__":
    tests = [v for k, v in list(globals().items()) if k.startswith("test_")]
    only = os.environ.get("SERVE_TEST_ONLY")
    for t in tests:
        if only and only not in t.__name__:
            continue
        t0 = time.time()
        try:
            t()
        except Exception as e:  # a broken exchange fails the test, never hangs it
            failures.append(f"{t.__name__}: {e!r}")
            print("FAIL:", t.__name__, repr(e), flush=True)
        print(f"{t.__name__}: {time.time() - t0:.1f} s", flush=True)
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)
