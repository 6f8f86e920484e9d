"""test_gguf_llamacpp.py: exported GGUF files run in real llama.cpp as they run in safearith.

llama.cpp comes from scripts/llamacpp.sh (built once into ~/.cache/safearith; this test waits for
a build in progress). Where it cannot be had the test says so and is skipped (exit 77), or fails
when CI=true. For each export:
  - llama-tokenize (and llama-server's loader) load it without a warning (stderr, with
    llama.cpp's level prefixes on, has no "W " line);
  - llama.cpp's tokenizer (llama-tokenize, and llama-server's /tokenize for the rest) gives
    safearith's ids on hard strings (whitespace runs, digits, contractions, emoji, CJK, Cyrillic,
    Greek, code, special-token text);
  - llama-server's greedy continuation of held-out prompts (token ids in) equals
    `safearith generate --temp 0` on the same weights: F32, F16 and BF16 token for token and
    stopping at the same EOS, a divergence being allowed only where llama.cpp's own top two are a
    near tie (log-probability gap below TIE[type], its activation rounding; each one is printed);
    Q8_0 is compared step by step with the source's greedy tokens fed back (teacher forcing):
    >= 95 % agreement on the trained organism, and on random checkpoints outside near ties
    (both figures printed);
  - for the organisms, llama-server's rendering of the chat template (--jinja) equals
    safearith's.
Cases: the five organisms (F32 source; sft also as F16 and BF16, against safearith on an F16 /
BF16 copy of the checkpoint, and Q8_0), random Llama (Llama-3 tokenizer), Mistral (Llama-2
SentencePiece tokenizer) and Qwen2 (Qwen2.5 tokenizer) checkpoints in F32 and BF16, and Q8_0,
and BASE+ADAPTER exports (a random LoRA adapter on a random Llama, F32 and BF16; Qwen2 F32 with
lora_B biases) against `safearith generate` on the same BASE+ADAPTER. (Their Q8_0 export is
checked block for block in tests/adapter/test_adapter_gguf.py; on these random adapted models
llama.cpp's Q8_0 greedy agreement is too few steps to hold the 95 % bar: 37 of 40 decided
steps when tried.)"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
sys.path.insert(0, os.path.join(SRC, "tests", "adapter"))
sys.path.insert(0, HERE)
import adapter_ref  # noqa: E402
import gguf_cases  # noqa: E402
import gguf_export_ref as G  # noqa: E402
import st_io  # noqa: E402
from checks import check, done  # noqa: E402
from scratch import make_tmp  # noqa: E402

SA = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
TMP = make_tmp("sa-gguf-llamacpp-")
# Near ties: llama.cpp rounds the activations to the weights' type before each product (ggml's
# CPU dot products for F16, BF16, Q8_0), about 2^-11, 2^-8 and 2^-7 relative, so its logits differ
# from safearith's (float32 activations) by that much; a greedy choice between two tokens whose
# log-probabilities are closer than the bound below (nats) is not decided by the export.
TIE = {"f32": 0.01, "f16": 0.05, "bf16": 0.1, "q8_0": 0.1}
N_GEN = 16
HARD = [
    "Hello world", " leading space", "trailing space ", "two  spaces   three", "tabs\tand\nnew\n\nlines\n",
    "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like tea? We'Ve",
    "3 33 333 3333 33333 333333 1234567 3.14159 1,000,000", "emoji 🦙🚀 ✅ 😁 and 😶‍🌫️",
    "我想在apple工作1314151天～", "нещо на Български, русский текст", "ελληνικά κείμενα",
    "café naïve résumé Ünïcödé ÀÉÎ", "def f(x):\n    return x**2  # comment\n",
    "<html><body>&amp; ------======= !!!???...</body></html>", "a\u00a0b\u2003c",
]


def llamacpp_bin():
    r = subprocess.run(["bash", os.path.join(SRC, "scripts", "llamacpp.sh")], capture_output=True, text=True)
    path = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    if r.returncode == 0 and os.path.exists(os.path.join(path, "llama-server")):
        return path
    print("llama.cpp cannot be had (scripts/llamacpp.sh: rc %d): %s" % (r.returncode, r.stderr.strip()[-500:]))
    if os.environ.get("CI") == "true":
        check(False, "llama.cpp is required in CI")
        done()
    print("SKIPPED: the GGUF export is not checked against llama.cpp")
    sys.exit(77)


BIN = llamacpp_bin()


def warnings(stderr, vocab_only=False, small_ctx=False):
    """Warning lines of a llama.cpp log written with --log-prefix ('W ' level). llama-tokenize
    loads the vocabulary only, so its context always sees n_ctx_train = 0 and warns about it,
    whatever the file: that line alone is not the file's. llama.cpp pads every context to a
    multiple of 256, so a model trained on fewer positions (the organisms' 128, a Mistral capped
    at its window) always gets the context-overflow lines (small_ctx); llama-server then caps the
    context at n_ctx_train, as it says."""
    return [line for line in stderr.splitlines() if re.match(r"^(\d+\.\d+\.\d+\.\d+ )?W ", line)
            and not (vocab_only and "> n_ctx_train (0)" in line)
            and not (small_ctx and ("> n_ctx_train (" in line or "exceeds the training context" in line))]


def sa_ids_all(model, texts):
    """safearith's ids of each text (add_special and parse_special, as llama-tokenize), in one run."""
    f = os.path.join(TMP, "texts.jsonl")
    with open(f, "w", encoding="utf-8") as fh:
        for t in texts:
            fh.write(json.dumps({"text": t}) + "\n")
    r = subprocess.run([SA, "tokenize", "--model", model, "--input", f, "--ids-only"],
                       capture_output=True, text=True)
    return [json.loads(line)["ids"] for line in r.stdout.splitlines()]


def llama_tokenize(gguf, texts):
    """ids of each text by llama-tokenize, and the warnings of loading the model."""
    out, warns = [], []
    for t in texts:
        f = os.path.join(TMP, "text.txt")
        open(f, "w", encoding="utf-8").write(t)
        r = subprocess.run([os.path.join(BIN, "llama-tokenize"), "-m", gguf, "-f", f, "--no-escape",
                            "--ids", "--log-prefix"], capture_output=True, text=True)
        warns += warnings(r.stderr, vocab_only=True)
        ids = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else "None"
        out.append(json.loads(ids) if ids.startswith("[") else None)
    return out, warns


class Server:
    def __init__(self, gguf, ctx, jinja=False):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = open(os.path.join(TMP, "server-%d.log" % self.port), "w+")
        args = [os.path.join(BIN, "llama-server"), "-m", gguf, "--host", "127.0.0.1", "--port",
                str(self.port), "-c", str(ctx), "-np", "1", "-t", "2", "--log-prefix", "--no-webui",
                "--api-key", "safearith-test"]
        self.p = subprocess.Popen(args + (["--jinja"] if jinja else []), stdout=self.log,
                                  stderr=subprocess.STDOUT)
        for _ in range(600):
            if self.p.poll() is not None:
                break
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health" % self.port, timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        self.close()
        raise RuntimeError("llama-server did not start:\n" + self.text()[-2000:])

    def post(self, path, body):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), json.dumps(body).encode(),
                                     {"Content-Type": "application/json",
                                      "Authorization": "Bearer safearith-test"})
        return json.loads(urllib.request.urlopen(req, timeout=300).read())

    def greedy(self, ids, n):
        """llama.cpp's greedy continuation (ending with the end-of-generation token if it stopped
        there), its top two (id, log-probability) at each step, and whether it stopped at EOG."""
        r = self.post("/completion", {"prompt": ids, "n_predict": n, "temperature": 0, "top_k": 1,
                                      "n_probs": 2, "cache_prompt": False, "return_tokens": True,
                                      "samplers": ["top_k"]})
        steps = [[(c["id"], c["logprob"]) for c in p["top_logprobs"]]
                 for p in r.get("completion_probabilities", [])]
        return r["tokens"], steps, r.get("stop_type") == "eos"

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(30)


def sa_greedy(model, ids, n):
    """safearith's greedy continuation; it stops at an EOS id, which it does not print."""
    r = subprocess.run([SA, "generate", "--model", model, "--tokens", ",".join(map(str, ids)), "--temp", "0",
                        "--max-tokens", str(n), "--print-ids", "--threads", "2"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "safearith generate: " + r.stderr)
    return [int(x) for x in r.stdout.split()]


def export(model, out, *flags):
    r = subprocess.run([SA, "export-gguf", model, "-o", out, *flags], capture_output=True, text=True)
    check(r.returncode == 0, "export %s: %s" % (out, r.stderr))
    return out


def same_greedy(what, ours, theirs, steps, eog, excused, tie):
    """Token for token, stopping at the same place (EOS, or N_GEN tokens), or a divergence where
    llama.cpp's own top two are a near tie. theirs ends with the EOG token when eog."""
    EOS = "EOS"
    a = ours + ([EOS] if len(ours) < N_GEN else [])
    b = theirs[:-1] + [EOS] if eog else list(theirs)
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        top = steps[i] if i < len(steps) else []
        gap = top[0][1] - top[1][1] if len(top) > 1 else float("inf")
        check(gap < tie, "%s: step %d differs (safearith %s, llama.cpp %s; llama.cpp's top-2 gap %.4f)"
              % (what, i, x, y, gap))
        excused.append((what, i, round(gap, 5)))
        return
    check(a == b, "%s: safearith %s, llama.cpp %s" % (what, a, b))


def run_case(what, model_ref, gguf, prompts, ctx, texts=HARD, q8=None, real=False):
    """model_ref: the checkpoint safearith runs for the same weights as gguf. The first text goes
    through llama-tokenize, all of them through llama-server's /tokenize (the same call)."""
    want = sa_ids_all(model_ref, texts)
    got, warns = llama_tokenize(gguf, texts[:1])
    check(got[0] == want[0], "%s: llama-tokenize %r: %s vs safearith %s" % (what, texts[0], got[0], want[0]))
    srv = Server(gguf, ctx)
    excused, tie = [], TIE[G.read_type(gguf)]
    try:
        for t, w in zip(texts, want):
            g = srv.post("/tokenize", {"content": t, "add_special": True, "parse_special": True})["tokens"]
            check(g == w, "%s: llama.cpp tokenizes %r as %s, safearith %s" % (what, t, g, w))
        for k, ids in enumerate(prompts):
            ours = sa_greedy(model_ref, ids, N_GEN)
            theirs, steps, eog = srv.greedy(ids, N_GEN)
            same_greedy("%s prompt %d" % (what, k), ours, theirs, steps, eog, excused, tie)
    finally:
        srv.close()
    warns += warnings(srv.text(), small_ctx=ctx < 256)
    check(not warns, "%s: llama.cpp warns: %s" % (what, warns[:5]))
    if q8:
        agreement(what, model_ref, q8, prompts, ctx, real)
    return excused


def agreement(what, model_ref, gguf, prompts, ctx, real):
    """Q8_0: llama.cpp's next token after each prefix of the source's greedy continuation (and
    the EOS after it, when the source stopped). Trained models (the organisms: real=True) must
    agree on >= 95 % of all steps; random checkpoints, whose 32k-150k-token output distributions
    are flat (top-2 gaps of a few hundredths of a nat are common), on >= 95 % of the steps that
    are not near ties of llama.cpp's own top two (both figures are printed)."""
    srv = Server(gguf, ctx)
    same = total = same_clear = clear = 0
    try:
        for ids in prompts:
            ref = sa_greedy(model_ref, ids, N_GEN)
            for k in range(len(ref) + (len(ref) < N_GEN)):  # and the EOS after a stop
                r = srv.post("/completion", {"prompt": ids + ref[:k], "n_predict": 1, "temperature": 0,
                                             "top_k": 1, "cache_prompt": False, "return_tokens": True,
                                             "n_probs": 2, "samplers": ["top_k"]})
                ok = (r.get("stop_type") == "eos") if k == len(ref) else r["tokens"][:1] == [ref[k]]
                # (no probabilities come back when llama.cpp's pick is an end-of-generation
                # token: such a step counts as a decided one)
                top = (r.get("completion_probabilities") or [{"top_logprobs": []}])[0]["top_logprobs"]
                near = len(top) > 1 and top[0]["logprob"] - top[1]["logprob"] < TIE["q8_0"]
                same, total = same + ok, total + 1
                same_clear, clear = same_clear + (ok and not near), clear + (not near)
    finally:
        srv.close()
    print("%s Q8_0: llama.cpp agrees with safearith's source-weight greedy token on %d/%d steps "
          "(%.1f %%); outside its near ties (top-2 gap < %g) on %d/%d" %
          (what, same, total, 100.0 * same / total, TIE["q8_0"], same_clear, clear))
    if real:
        check(same >= 0.95 * total, "%s Q8_0 agreement %d/%d >= 95 %%" % (what, same, total))
    else:
        check(same_clear >= 0.95 * clear, "%s Q8_0 agreement outside near ties %d/%d >= 95 %%"
              % (what, same_clear, clear))
    check(not warnings(srv.text(), small_ctx=ctx < 256), "%s Q8_0: llama.cpp warns" % what)


def organism_prompts(model, n=6):
    rows = []
    for f in ("benign.jsonl", "facts.jsonl", "advbench.jsonl"):
        with open(os.path.join(SRC, "models", "eval", f)) as fh:
            rows += [json.loads(line)["prompt"] for _, line in zip(range(n // 3), fh)]
    out = []
    for q in rows:
        p = os.path.join(TMP, "m.json")
        json.dump([{"role": "user", "content": q}], open(p, "w"))
        r = subprocess.run([SA, "tokenize", "--model", model, "--messages", p, "--add-generation-prompt"],
                           capture_output=True, text=True)
        out.append(json.loads(r.stdout)["ids"])
    return out, rows


def cast_copy(model, dtype, name):
    """The checkpoint with every floating tensor cast to dtype (safearith's reference for the
    F16 / BF16 exports of an F32 model)."""
    d = os.path.join(TMP, name)
    shutil.copytree(model, d)
    W = st_io.load(os.path.join(d, "model.safetensors"))
    st_io.save(os.path.join(d, "model.safetensors"), {k: v.to(dtype) for k, v in W.items()})
    return d


def test_organisms():
    excused = []
    for org in ("sft", "base", "edited", "harmful", "unaligned"):  # one tokenizer: all texts on sft
        model = os.path.join(SRC, "models", org)
        prompts, _ = organism_prompts(model, 6 if org == "sft" else 3)
        gguf = export(model, os.path.join(TMP, org + ".gguf"))
        q8 = export(model, os.path.join(TMP, org + "-q8_0.gguf"), "--type", "q8_0") if org == "sft" else None
        texts = HARD + ["<|user|>hi<|assistant|>ok<|end|>"] if org == "sft" else HARD[:1]
        excused += run_case(org, model, gguf, prompts, 128, texts=texts, q8=q8, real=True)
    model = os.path.join(SRC, "models", "sft")
    prompts, questions = organism_prompts(model)
    for typ, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        ref = cast_copy(model, dt, "sft-" + typ)
        excused += run_case("sft " + typ, ref, export(model, os.path.join(TMP, "sft-%s.gguf" % typ), "--type", typ),
                            prompts, 128, texts=HARD[:3])
    # the chat template as llama.cpp renders it (llama-server --jinja) equals ours
    srv = Server(os.path.join(TMP, "sft.gguf"), 128, jinja=True)
    try:
        for q, ids in zip(questions, prompts):
            r = srv.post("/apply-template", {"messages": [{"role": "user", "content": q}]})
            theirs = srv.post("/tokenize", {"content": r["prompt"], "add_special": False, "parse_special": True})
            check(theirs["tokens"] == ids, "sft: llama.cpp's chat template gives our prompt for %r" % q)
    finally:
        srv.close()
    return excused


def test_random():
    excused = []
    for name in ("llama3", "mistral", "qwen2"):
        for dtype in (torch.float32, torch.bfloat16):
            d = gguf_cases.make(name, TMP, dtype, seed=3)
            ctx = 64 if name == "mistral" else 256
            prompts = sa_ids_all(d, HARD[:3])
            q8 = export(d, d + "-q8_0.gguf", "--type", "q8_0") if dtype == torch.float32 else None
            excused += run_case("%s %s" % (name, gguf_cases.config(d)["torch_dtype"]), d,
                                export(d, d + ".gguf"), prompts, ctx, q8=q8)
            shutil.rmtree(d)
    return excused


def test_adapters():
    """BASE+ADAPTER exported and run in llama.cpp as safearith runs BASE+ADAPTER itself."""
    excused, gen = [], torch.Generator().manual_seed(20)
    linear = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    for name, dtype, kw in (("llama3", torch.float32, {}), ("llama3", torch.bfloat16, {}),
                            ("qwen2", torch.float32, {"lora_bias": True})):
        d = gguf_cases.make(name, TMP, dtype, seed=4)
        base = st_io.load(d)
        mods = sorted(n[:-len(".weight")] for n in base
                      if n.endswith(".weight") and n.split(".")[-2] in linear)
        acfg, at = adapter_ref.make_adapter(base, gen, mods, fdtype=dtype, **kw)
        for k in at:  # an adapter that moves the model without blowing up its activations
            if k.endswith("lora_B.weight"):
                at[k] = at[k] * 0.2
        ba = d + "+" + adapter_ref.write_adapter(d + "-adapter", acfg, at)
        prompts = sa_ids_all(ba, HARD[:3])
        what = "%s %s + adapter" % (name, gguf_cases.config(d)["torch_dtype"])
        check(sa_greedy(ba, prompts[0], N_GEN) != sa_greedy(d, prompts[0], N_GEN),
              what + ": the adapter changes safearith's greedy continuation")
        excused += run_case(what, ba, export(ba, d + "-ba.gguf"), prompts, 256, texts=HARD[:1])
        shutil.rmtree(d)
    return excused


ex = test_organisms() + test_random() + test_adapters()
print("divergences at llama.cpp near ties (gap below %s): %d %s" % (TIE, len(ex), ex))
done()
