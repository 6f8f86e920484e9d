"""arith_fixtures.py: small random Hugging Face-style checkpoints for the end-to-end tests, and
helpers to run the safearith binary and compare outputs bit for bit."""
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.join(os.environ.get("SA_SOURCE_DIR", "../.."), "tests", "common"))
import checks  # noqa: E402
import st_io  # noqa: E402
from scratch import make_tmp  # noqa: E402,F401

SAFEARITH = os.environ.get("SAFEARITH", "safearith")


def llama_shapes(vocab, dim, ffn, layers):
    s = {"model.embed_tokens.weight": (vocab, dim), "model.norm.weight": (dim,),
         "lm_head.weight": (vocab, dim)}
    for i in range(layers):
        p = "model.layers.%d." % i
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            s[p + "self_attn.%s.weight" % n] = (dim, dim)
        s[p + "mlp.gate_proj.weight"] = (ffn, dim)
        s[p + "mlp.up_proj.weight"] = (ffn, dim)
        s[p + "mlp.down_proj.weight"] = (dim, ffn)
        s[p + "input_layernorm.weight"] = (dim,)
        s[p + "post_attention_layernorm.weight"] = (dim,)
    return s


def random_model(shapes, dtype, gen, scale=1.0):
    return {n: (torch.randn(*sh, generator=gen) * scale).to(dtype) for n, sh in shapes.items()}


def perturb(model, gen, scale=0.02, ties=False):
    """A 'fine-tune' of model; with ties, deltas come from a tiny set so many |tau| are equal."""
    out = {}
    for n, t in model.items():
        if not t.is_floating_point():
            out[n] = t.clone()
        elif ties:
            steps = torch.randint(-2, 3, t.shape, generator=gen).float() * 0.25
            out[n] = (t.float() + steps).to(t.dtype)
        else:
            out[n] = (t.float() + torch.randn(t.shape, generator=gen) * scale).to(t.dtype)
    return out


def save_model(path, tensors, shard_bytes=None, extra_files=True, dtype_name="bfloat16"):
    os.makedirs(path, exist_ok=True)
    if shard_bytes:
        st_io.save_sharded(path, tensors, shard_bytes)
    else:
        st_io.save(os.path.join(path, "model.safetensors"), tensors)
    if extra_files:
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                       "torch_dtype": dtype_name, "num_hidden_layers": 4}, f)
        with open(os.path.join(path, "tokenizer.json"), "w") as f:
            f.write('{"model": {"type": "BPE"}}')
        with open(os.path.join(path, "pytorch_model.bin"), "w") as f:
            f.write("stale weights that must not be copied")
    return path


def run(*args, ok=True):
    p = subprocess.run([SAFEARITH] + [str(a) for a in args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError("safearith %s failed (%d): %s" % (" ".join(map(str, args)),
                                                                p.returncode, p.stderr))
    return p


class Checker(checks.Checker):
    """The shared assertion counter plus a bit-exact comparison of tensor maps."""

    def same_tensors(self, got, want, what):
        """Exact equality (bit patterns) and dtypes of two {name: tensor} maps."""
        if set(got) != set(want):
            self.check(False, "%s: tensor names differ: %s" % (what, sorted(set(got) ^ set(want))))
            return
        bad = []
        for n in want:
            g, w = got[n], want[n]
            if g.dtype != w.dtype or g.shape != w.shape:
                bad.append("%s: %s%s vs %s%s" % (n, g.dtype, tuple(g.shape), w.dtype,
                                                  tuple(w.shape)))
            elif g.numel() and not torch.equal(g.reshape(-1).view(torch.uint8),
                                               w.reshape(-1).view(torch.uint8)):
                diff = (g.float() != w.float()).sum().item()
                bad.append("%s: %d of %d values differ" % (n, diff, g.numel()))
        self.check(not bad, "%s: %s" % (what, "; ".join(bad[:4])))
