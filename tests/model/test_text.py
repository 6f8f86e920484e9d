"""test_text.py: the text side of the engine commands, on a random model with a tiny byte-level
tokenizer written here (id of byte b = b, plus <|im_start|> 256, <|im_end|> 257, <|endoftext|>
258, and a ChatML chat template), so the expected ids are known without trusting the tokenizer:
  - generate --prompt (greedy) continues the prompt's bytes exactly like the PyTorch reference;
  - generate text output is the continuation's bytes (special ids skipped);
  - --stop cuts the text before the stop string; --seed repeats; another seed differs;
  - generate --chat --system renders ChatML and continues it like the reference;
  - the chat command answers piped lines, reusing the cache across turns (same text as
    generate --chat for the first turn);
  - logits --text equals logits --tokens of the same ids;
  - unsupported models are refused naming the culprit.
"""
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref as R  # noqa: E402
import st_io  # noqa: E402

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
          " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
          "{% endif %}")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write_tokenizer(path):
    b2u = bytes_to_unicode()
    specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": 256 + i, "content": s, "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False, "special": True}
                            for i, s in enumerate(specials)],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                             "use_regex": False},
           "post_processor": None,
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                       "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None,
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": {b2u[b]: b for b in range(256)}, "merges": []}}
    with open(os.path.join(path, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"chat_template": CHATML, "eos_token": "<|im_end|>", "bos_token": None,
                   "add_bos_token": False}, f)


def ids_of(text):
    return list(text.encode())


def decode(ids):
    return bytes(i for i in ids if i < 256).decode("utf-8", "replace")


def chatml(msgs):
    ids = []
    for role, content in msgs:
        ids += [256] + ids_of(role + "\n" + content) + [257] + ids_of("\n")
    return ids + [256] + ids_of("assistant\n")


class T:
    passed = failed = 0

    @classmethod
    def check(cls, ok, what, detail=""):
        print("%s %s%s" % ("ok  " if ok else "FAIL", what, "" if ok else ": " + detail))
        if ok:
            cls.passed += 1
        else:
            cls.failed += 1


def main():
    cfg = R.make_config("qwen2", vocab=260, hidden=64, layers=2, tie=True)
    cfg["eos_token_id"] = 258
    cfg["bos_token_id"] = None
    w = R.random_weights(cfg, seed=7, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        m = os.path.join(tmp, "m")
        R.write_checkpoint(m, cfg, w)
        write_tokenizer(m)
        S = R.safearith

        prompt = "Hello, world"
        ref = R.greedy(cfg, w, ids_of(prompt), 12)
        r = S("generate", "--model", m, "--prompt", prompt, "--temp", 0, "--max-tokens", 12,
              "--print-ids", "--ignore-eos")
        T.check([int(x) for x in r.stdout.split()] == ref, "generate --prompt: greedy ids", r.stdout)
        r = S("generate", "--model", m, "--prompt", prompt, "--temp", 0, "--max-tokens", 12, "--ignore-eos")
        T.check(r.stdout == decode(ref) + "\n", "generate: text output", repr(r.stdout) + " vs " + repr(decode(ref)))
        r = S("generate", "--model", m, "--prompt", prompt, "--temp", 0, "--max-tokens", 12,
              "--print-ids", "--ignore-eos", "--no-mmap")
        T.check([int(x) for x in r.stdout.split()] == ref, "generate --no-mmap: same greedy ids", r.stdout)
        for extra, weights in (((), "mmap"), (("--no-mmap",), "read")):
            r = S("bench", "--model", m, "-p", 8, "-n", 4, "--batch", 2, "--threads", 1, "--reps", 2,
                  "--json", *extra)
            j = json.loads(r.stdout)
            T.check(j["n_prompt"] == 8 and j["n_gen"] == 4 and j["batch"] == 2 and j["threads"] == 1
                    and j["weights"] == weights and j["prompt_tokens_per_s"] > 0
                    and j["gen_tokens_per_s"] > 0, "bench --json %s" % " ".join(extra), r.stdout)
        text = decode(ref)
        stop = text[3:5]
        if stop and "\ufffd" not in stop:
            r = S("generate", "--model", m, "--prompt", prompt, "--temp", 0, "--max-tokens", 12,
                  "--ignore-eos", "--stop", stop)
            want = text[:text.find(stop)] + "\n"
            T.check(r.stdout == want, "generate --stop cuts before the stop string", repr(r.stdout))
        runs = [S("generate", "--model", m, "--prompt", prompt, "--temp", 20.0, "--top-p", 1, "--top-k", 0, "--seed", s, "--max-tokens", 24,
                  "--print-ids", "--ignore-eos").stdout for s in (5, 5, 6)]
        T.check(runs[0] == runs[1], "same seed, same tokens")
        T.check(runs[0] != runs[2], "another seed, other tokens")

        conv = chatml([("system", "Be brief."), ("user", "Hi there")])
        ref = R.greedy(cfg, w, conv, 10)
        r = S("generate", "--model", m, "--chat", "--system", "Be brief.", "--prompt", "Hi there", "--temp", 0,
              "--max-tokens", 10, "--print-ids", "--ignore-eos")
        T.check([int(x) for x in r.stdout.split()] == ref, "generate --chat: ChatML continuation", r.stdout)

        # chat: first turn equals generate --chat (stopping at <|im_end|> as chat does)
        g = S("generate", "--model", m, "--chat", "--prompt", "Hi there", "--temp", 0, "--max-tokens", 8).stdout
        exe = os.environ["SAFEARITH"]
        import subprocess
        r = subprocess.run([exe, "chat", "--model", m, "--temp", "0", "--max-tokens", "8"],
                           input="Hi there\nSecond line\n/reset\nHi there\n", capture_output=True, text=True)
        lines = r.stdout.split("\n")
        T.check(r.returncode == 0 and len(lines) >= 3, "chat answers piped lines", r.stderr)
        T.check(r.stdout.startswith(g), "chat turn 1 equals generate --chat", repr(r.stdout) + " vs " + repr(g))
        T.check(r.stdout.endswith(g), "chat after /reset answers as in a new conversation", repr(r.stdout))

        a, b = os.path.join(tmp, "a.safetensors"), os.path.join(tmp, "b.safetensors")
        S("logits", "--model", m, "--text", prompt, "-o", a)
        S("logits", "--model", m, "--tokens", ",".join(map(str, ids_of(prompt))), "-o", b)
        la, lb = st_io.load_file(a)[0], st_io.load_file(b)[0]
        T.check(la.keys() == lb.keys() and all(torch.equal(la[k], lb[k]) for k in la),
                "logits --text equals logits --tokens")
        r = S("logits", "--model", m, "--text", prompt, "-o", a, check=False)
        T.check(r.returncode != 0 and "exists" in r.stderr.lower(), "logits refuses to overwrite", r.stderr)

        bad = dict(cfg, architectures=["GemmaForCausalLM"], model_type="gemma")
        with open(os.path.join(m, "config.json"), "w") as f:
            json.dump(bad, f)
        r = S("generate", "--model", m, "--tokens", "1,2", "--print-ids", check=False)
        T.check(r.returncode == 1 and "GemmaForCausalLM" in r.stderr and r.stdout == "",
                "unsupported architecture refused by name", r.stderr)
        extra = dict(w)
        extra["model.layers.0.self_attn.o_proj.bias"] = torch.zeros(64)
        with open(os.path.join(m, "config.json"), "w") as f:
            json.dump(cfg, f)
        st_io.save(os.path.join(m, "model.safetensors"), extra)
        r = S("logits", "--model", m, "--tokens", "1,2", "-o", os.path.join(tmp, "c.safetensors"), check=False)
        T.check(r.returncode == 1 and "o_proj.bias" in r.stderr, "unexpected tensor refused by name", r.stderr)
    print("%d passed, %d failed" % (T.passed, T.failed))
    sys.exit(1 if T.failed else 0)


if __name__ == "__main__":
    main()
