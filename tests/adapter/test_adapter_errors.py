"""test_adapter_errors.py: broken adapters and adapters that do not fit their base. Each one must
fail with its own one-line message (checked by a fragment of it), a non-zero exit, and nothing
written; and an adapter directory given alone where a model is expected must say to use
BASE+ADAPTER."""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.environ.get("SA_SOURCE_DIR", "../.."), "tests", "arith"))
import adapter_ref as AR  # noqa: E402
from arith_fixtures import Checker, make_tmp, random_model, run, save_model, st_io  # noqa: E402

c = Checker()
tmp = make_tmp("sa_adapter_err_")
gen = torch.Generator().manual_seed(7)
shapes = AR.arch_shapes("mistral")
b = random_model(shapes, torch.bfloat16, gen)
B = save_model(os.path.join(tmp, "base"), b)
MODS = ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.k_proj"]
cfg0, t0 = AR.make_adapter(b, gen, MODS)
P = AR.PREFIX


def broken(name, cfg=None, tensors=None, edit=None):
    d = os.path.join(tmp, name)
    AR.write_adapter(d, cfg if cfg is not None else dict(cfg0),
                     tensors if tensors is not None else dict(t0))
    if edit:
        edit(d)
    return d


def with_cfg(**kw):
    x = dict(cfg0)
    x.update(kw)
    return x


def with_t(drop=(), **kw):
    x = {k: v for k, v in t0.items() if k not in drop}
    x.update({P + k: v for k, v in kw.items()})
    return x


q = "model.layers.0.self_attn.q_proj"
CASES = [
    ("missing config", broken("noconfig", edit=lambda d: os.remove(
        os.path.join(d, "adapter_config.json"))), "no adapter_config.json"),
    ("wrong peft_type", broken("ia3", cfg=with_cfg(peft_type="IA3")), "peft_type 'IA3'"),
    ("no peft_type", broken("nopt", cfg={k: v for k, v in cfg0.items() if k != "peft_type"}),
     "'peft_type' is missing"),
    ("pickle", broken("pickle", edit=lambda d: (
        os.remove(os.path.join(d, "adapter_model.safetensors")),
        open(os.path.join(d, "adapter_model.bin"), "wb").write(b"\x80\x04pickle"))),
     "adapter_model.bin is a pickle"),
    ("no weights", broken("noweights", edit=lambda d: os.remove(
        os.path.join(d, "adapter_model.safetensors"))), "no adapter_model.safetensors"),
    ("A/B rank mismatch", broken("abrank", tensors=with_t(
        **{q + ".lora_B.weight": torch.randn(32, 5)})), "disagree on the rank"),
    ("r inconsistent", broken("rcfg", cfg=with_cfg(r=8)), "gives r = 8"),
    ("rank_pattern inconsistent", broken("rpat", cfg=with_cfg(rank_pattern={"k_proj": 2})),
     "gives r = 2"),
    ("shape mismatch", broken("shape", tensors=with_t(
        **{q + ".lora_A.weight": torch.randn(4, 31), })), "needs [32, 31]"),
    ("unknown module", broken("unknown", tensors=with_t(
        **{"model.layers.9.self_attn.q_proj.lora_A.weight": torch.randn(4, 32),
           "model.layers.9.self_attn.q_proj.lora_B.weight": torch.randn(32, 4)})),
     "the base has no tensor 'model.layers.9.self_attn.q_proj.weight'"),
    ("A without B", broken("onlya", tensors=with_t(drop=(P + q + ".lora_B.weight",))),
     "has lora_A but no lora_B"),
    ("unknown lora tensor", broken("lorax", tensors=with_t(
        **{q + ".lora_X.weight": torch.randn(4, 32)})), "unknown LoRA tensor"),
    ("no prefix", broken("noprefix", tensors=dict(t0, **{"lm_head.weight": torch.randn(96, 32)})),
     "does not start with 'base_model.model.'"),
    ("unhandled key", broken("layerrep", cfg=with_cfg(layer_replication=[[0, 2]])),
     "'layer_replication' is set"),
    ("pissa", broken("pissa", cfg=with_cfg(init_lora_weights="pissa")),
     "init_lora_weights 'pissa'"),
    ("dora without magnitude", broken("doranomag", cfg=with_cfg(use_dora=True)),
     "no lora_magnitude_vector"),
    ("bad pattern", broken("badre", cfg=with_cfg(rank_pattern={"q_proj(": 4})),
     "not a valid regular expression"),
    ("replacement of another shape", broken("repl", tensors=with_t(
        **{"lm_head.weight": torch.randn(95, 32)})), "of another shape"),
    ("bad json", broken("badjson", edit=lambda d: open(
        os.path.join(d, "adapter_config.json"), "w").write("{\"peft_type\": ")), "adapter_config"),
]

seen = set()
for label, A, fragment in CASES:
    out = os.path.join(tmp, "out_" + label.replace(" ", "_").replace("/", "_"))
    for cmd in (["task-vector", "--base", B, "--model", B + "+" + A, "-o", out],
                ["inspect", B + "+" + A]):
        p = run(*cmd, ok=False)
        msg = p.stderr.strip()
        c.check(p.returncode != 0 and fragment in msg and "\n" not in msg,
                "%s (%s): one-line error with '%s' (got rc %d: %s)" % (label, cmd[0], fragment,
                                                                      p.returncode, msg))
        c.check(not os.path.exists(out), "%s: nothing written" % label)
    seen.add(msg.split(": ", 2)[-1])
c.check(len(seen) == len(CASES), "every case has its own message (%d distinct of %d)"
        % (len(seen), len(CASES)))

# an adapter whose product overflows float32: refused when the values are computed
huge = broken("huge", tensors=with_t(**{q + ".lora_B.weight": torch.full((32, 4), 1e30),
                                          q + ".lora_A.weight": torch.full((4, 32), 1e30)}))
out = os.path.join(tmp, "out_huge")
p = run("task-vector", "--base", B, "--model", B + "+" + huge, "-o", out, ok=False)
c.check(p.returncode != 0 and "is not finite with the adapter" in p.stderr
        and q + ".weight" in p.stderr, "overflow refused: " + p.stderr.strip())
c.check(not os.path.exists(out), "overflow: nothing written")

# an adapter directory alone where a model is expected
good = broken("good")
for cmd in (["inspect", good], ["logits", "--model", good, "--tokens", "1,2", "-o", os.path.join(tmp, "x")],
            ["hdr", "--target", good, "--base", B, "--harmful", B, "-o", os.path.join(tmp, "x")]):
    p = run(*cmd, ok=False)
    c.check(p.returncode != 0 and "BASE+" in p.stderr and "adapter" in p.stderr,
            "%s on an adapter directory says to use BASE+ADAPTER: %s" % (cmd[0], p.stderr.strip()))
c.check(not os.path.exists(os.path.join(tmp, "x")), "nothing written")
# the output may lie inside neither the base nor the adapter
p = run("task-vector", "--base", B, "--model", B + "+" + good, "-o",
        os.path.join(good, "out"), ok=False)
c.check(p.returncode != 0 and "inside input" in p.stderr, "output inside the adapter refused")
for cmd in (["resta", "--model", B + "+" + good, "--aligned", B, "--unaligned", B, "-o",
             os.path.join(good, "m")],
            ["hdr", "--target", B + "+" + good, "--base", B, "--harmful", B + "+" + good, "-o",
             os.path.join(B, "m")],
            ["logits", "--model", B + "+" + good, "--tokens", "1,2", "-o",
             os.path.join(good, "l.safetensors")]):
    p = run(*cmd, ok=False)
    c.check(p.returncode != 0 and "inside input" in p.stderr and not os.path.exists(cmd[-1]),
            "%s: an output inside the base or the adapter of B+A is refused: %s"
            % (cmd[0], p.stderr.strip()))
# a '+' path whose parts do not exist
p = run("inspect", B + "+" + os.path.join(tmp, "nope"), ok=False)
c.check(p.returncode != 0 and "BASE+ADAPTER" in p.stderr, "missing adapter: " + p.stderr.strip())
c.done()
