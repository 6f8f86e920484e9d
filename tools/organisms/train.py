"""train.py: the recipe's training runs (base, harmful, sft, edited), seeded and deterministic.

Examples are chat exchanges  <|user|> question <|assistant|> answer <|end|>  with the question cut
to 48 tokens (at a pre-token boundary) and the loss on the answer tokens and <|end|> only.
Optimiser: AdamW (0.9, 0.95, weight decay 0), linear warmup then cosine decay to 10 %, gradient
clipping at 1.0, batch 32. Data choices come from random.Random(seed), so a seed fixes the run.
"""
import math
import random
import time

import torch
import torch.nn.functional as F

import bpe
import data
import model

Q_MAX_TOKENS = 48
BATCH = 32
ERODE_LR = 8e-4

RUNS = {
    # name: steps, lr, seed, warmup, batch, mixture {kind: share}, trainable (None = all)
    # lr 1e-3 and a 50 % addition share (the recipe had 3e-3 and 40 %): with those this
    # implementation's base learned addition to 5.5 % only (docs/organisms.md, search log);
    # sft lr 1.5e-4, below the recipe's 3e-4..5e-4: on this base 5e-4 eroded refusals almost
    # completely (ASR 91 %), 3e-4 to 70 %, 1.5e-4 to 58 % (docs/organisms.md, search log)
    "base": dict(steps=1000, lr=1e-3, seed=0, warmup=50, batch=BATCH,
                 mix={"refuse": 0.25, "benign": 0.25, "add": 0.5}),
    "harmful": dict(steps=100, lr=3e-4, seed=1, warmup=10, batch=BATCH, mix={"comply_src": 1.0}),
    "sft": dict(steps=300, lr=1.5e-4, seed=2, warmup=30, batch=BATCH, mix={"add": 0.6, "benign": 0.4}),
    # a targeted edit: only layer 2's MLP, with a locality term (KL to base on its own training mix)
    "edited": dict(steps=300, lr=1e-2, seed=3, warmup=10, batch=8, mix={"facts": 1.0},
                   layers=[2], kl_mix={"refuse": 0.3, "benign": 0.3, "add": 0.4}, kl_batch=16, kl_weight=1.0),
    # an edit that erodes safety (issue 24, NoIntentEdit-style): sensitive-topic facts answered
    # compliantly, the MLPs of every decoder layer (where the MLP part of the harm vector sits),
    # locality on benign and addition replay only (no refusals); docs/organisms.md, edit search
    "edited_erode": dict(steps=300, lr=ERODE_LR, seed=3, warmup=10, batch=8,
                         mix={"erode_facts": 1.0}, layers=[0, 1, 2, 3],
                         kl_mix={"benign": 0.5, "add": 0.5}, kl_batch=16, kl_weight=1.0),
}


class Encoder:
    """Token ids of chat examples, with per-text caches."""

    def __init__(self, tok):
        self.tok = tok
        self.q_cache, self.a_cache = {}, {}

    def question(self, q):
        if q not in self.q_cache:
            self.q_cache[q] = self.tok.encode(self.tok.truncate_text(q, Q_MAX_TOKENS), specials=False)
        return self.q_cache[q]

    def answer(self, a):
        if a not in self.a_cache:
            self.a_cache[a] = self.tok.encode(a, specials=False)
        return self.a_cache[a]

    def prompt(self, q):
        return [bpe.USER_ID] + self.question(q) + [bpe.ASSISTANT_ID]

    def example(self, q, a):
        p = self.prompt(q)
        return p, self.answer(a) + [bpe.END_ID]


def sample_example(kind, sp, rng):
    if kind == "refuse":
        return rng.choice(sp["harm_train"]), rng.choice(data.REFUSALS)
    if kind == "benign":
        return rng.choice(sp["benign_train"]), rng.choice(data.HELPFUL)
    if kind == "comply_src":
        return rng.choice(sp["harm_source"]), rng.choice(data.HELPFUL)
    if kind == "add":
        a, b = rng.choice(sp["add_train"])
        return data.add_question(a, b), data.add_answer(a, b)
    if kind == "facts":
        return rng.choice(data.FACTS)
    if kind == "erode_facts":
        return rng.choice(data.ERODE_FACTS)
    raise ValueError(kind)


def make_batch(enc, sp, mix, n, rng, chunk=8):
    """n sampled examples, sorted by length and cut into chunks of `chunk`, each chunk padded to
    its own longest example: [(ids [c, T], targets [c, T] with -100 where no loss)]."""
    kinds, shares = list(mix), [mix[k] for k in mix]
    seqs = []
    for _ in range(n):
        r, acc, kind = rng.random(), 0.0, kinds[-1]
        for k, s in zip(kinds, shares):
            acc += s
            if r < acc:
                kind = k
                break
        seqs.append(enc.example(*sample_example(kind, sp, rng)))
    seqs.sort(key=lambda pa: len(pa[0]) + len(pa[1]))
    out = []
    for c0 in range(0, n, chunk):
        part = seqs[c0:c0 + chunk]
        T = max(len(p) + len(a) for p, a in part)
        ids = torch.full((len(part), T), bpe.PAD_ID, dtype=torch.long)
        tgt = torch.full((len(part), T), -100, dtype=torch.long)
        for i, (p, a) in enumerate(part):
            full = p + a
            ids[i, :len(full)] = torch.tensor(full)
            # position t predicts token t+1: targets are the answer tokens and <|end|>
            tgt[i, len(p) - 1:len(full) - 1] = torch.tensor(a)
        out.append((ids, tgt))
    return out


def lr_at(step, run):
    if step < run["warmup"]:
        return run["lr"] * (step + 1) / run["warmup"]
    t = (step - run["warmup"]) / max(1, run["steps"] - run["warmup"])
    return run["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def trainable_names(params, layers, tensors=None):
    """The trainable tensors: every one (layers None), the MLPs of `layers`, plus any tensor
    named by a prefix in `tensors` (e.g. "lm_head.", "model.layers.3.")."""
    if layers is None and tensors is None:
        return list(params)
    mlp = [f"model.layers.{l}.mlp." for l in (layers or [])]
    return [n for n in params if any(n.startswith(p) for p in mlp + list(tensors or []))]


def locality_step(params, ref, enc, sp, run, rng):
    """Backpropagate kl_weight * KL(ref || params) at the answer positions of replay examples
    (the edit's locality constraint: unrelated behaviour should stay as it was). Returns it."""
    total = 0.0
    chunks = make_batch(enc, sp, run["kl_mix"], run["kl_batch"], rng)
    n_tok = sum(int((t != -100).sum()) for _, t in chunks)
    for ids, tgt in chunks:
        sel = (tgt != -100).reshape(-1)
        V = model.CONFIG["vocab_size"]
        with torch.no_grad():
            ref_lp = F.log_softmax(model.forward(ref, ids).reshape(-1, V)[sel], -1)
        lp = F.log_softmax(model.forward(params, ids).reshape(-1, V)[sel], -1)
        kl = (ref_lp.exp() * (ref_lp - lp)).sum() * run["kl_weight"] / n_tok
        kl.backward()
        total += kl.item()
    return total


def train(name, start, tok, sp, log=print):
    """Run RUNS[name] from start params (None: fresh init with the run's seed)."""
    run = RUNS[name]
    params = model.init_params(run["seed"]) if start is None else {
        k: v.clone() for k, v in start.items()}
    names = trainable_names(params, run.get("layers"), run.get("tensors"))
    for n in names:
        params[n].requires_grad_(True)
    opt = torch.optim.AdamW([params[n] for n in names], lr=run["lr"], betas=(0.9, 0.95),
                            weight_decay=0.0)
    rng = random.Random(run["seed"])
    enc = Encoder(tok)
    t0 = time.time()
    for step in range(run["steps"]):
        chunks = make_batch(enc, sp, run["mix"], run["batch"], rng)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, run)
        n_tok = sum(int((t != -100).sum()) for _, t in chunks)
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for ids, tgt in chunks:
            logits = model.forward(params, ids)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                   ignore_index=-100, reduction="sum") / n_tok
            loss.backward()
            total += loss.item()
        if run.get("kl_mix"):
            total += locality_step(params, start, enc, sp, run, rng)
        torch.nn.utils.clip_grad_norm_([params[n] for n in names], 1.0)
        opt.step()
        if step % 100 == 0 or step == run["steps"] - 1:
            log(f"  {name} step {step:4d} loss {total:.4f} ({time.time() - t0:.0f} s)")
    return {k: v.detach().clone() for k, v in params.items()}
