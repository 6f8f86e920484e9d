"""arith.py: reference weight arithmetic and ICV for the organisms (float32 PyTorch).

HDR (Safety Arithmetic eqs. 1-4, as the official code does it): tau = H - B over all tensors (or
only over decoder layers `layers`), keep |tau| >= t where t is the (d - floor(k*d/100))-th smallest
|tau| over the flattened selection (torch.kthvalue; ties at t kept), out = T - lambda * tau_k.
RESTA: out = SFT + beta * (A - U); with DARE: A + DARE_p(SFT - A) + beta * (A - U), DARE masks from
torch.bernoulli with one seeded generator in sorted tensor-name order (not the C tool's RNG).
ICV: v_l = mean h_l(safe demo) - mean h_l(unsafe demo), h_l the residual after decoder layer l,
at position "mean-answer" (mean over the answer tokens) or "last".
In-context ICV (icv_context): ready positive/negative chat texts (models/eval/icv_pairs_context.jsonl),
the residual after decoder layers 1..L-1 at the last token, per layer the first principal component
of the centred positive - negative differences (float64 SVD), unit length, signed so that the mean
difference projects positively; layer 0 gets no vector (the paper's settings as `safearith icv
--position last --method pca` computes them).
"""
import re

import torch

import bpe
import model


def _in_layers(name, layers):
    m = re.match(r"model\.layers\.(\d+)\.", name)
    return m is not None and int(m.group(1)) in layers


def _selected(name, layers, include):
    """In the HDR selection: decoder layers `layers` (None: all tensors) and, with `include` (a
    regular expression searched anywhere in the name, as `safearith hdr --include`), matching it."""
    return (layers is None or _in_layers(name, layers)) and \
        (include is None or re.search(include, name) is not None)


def harm_vector(base, harmful, layers=None, include=None):
    tau = {}
    for n in sorted(base):
        t = harmful[n] - base[n]
        if not _selected(n, layers, include):
            t = torch.zeros_like(t)
        tau[n] = t
    return tau


def trim_topk(tau, k_percent, layers=None, include=None):
    names = [n for n in sorted(tau) if _selected(n, layers, include)]
    flat = torch.cat([tau[n].reshape(-1).abs() for n in names])
    d = flat.numel()
    keep = int(k_percent * d // 100)
    if keep == 0:
        return {n: torch.zeros_like(t) for n, t in tau.items()}
    # threshold: the (d - keep)-th smallest |tau| (1-based); with keep == d, the smallest
    thr = torch.kthvalue(flat, max(d - keep, 1)).values
    out = {}
    for n, t in tau.items():
        out[n] = torch.where(t.abs() >= thr, t, torch.zeros_like(t)) if n in names else \
            torch.zeros_like(t)
    return out


def hdr(target, base, harmful, lam, k_percent=10.0, layers=None, trim=True, include=None):
    tau = harm_vector(base, harmful, layers, include)
    if trim:
        tau = trim_topk(tau, k_percent, layers, include)
    return {n: target[n] - lam * tau[n] for n in target}


def resta(sft, aligned, unaligned, beta=1.0):
    return {n: sft[n] + beta * (aligned[n] - unaligned[n]) for n in sft}


def resta_dare(sft, aligned, unaligned, beta, p, seed):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for n in sorted(sft):
        delta = sft[n] - aligned[n]
        keep = torch.bernoulli(torch.full(delta.shape, 1.0 - p), generator=g)
        out[n] = aligned[n] + delta * keep / (1.0 - p) + beta * (aligned[n] - unaligned[n])
    return out


def demo_ids(enc, question, answer):
    """<|user|> q <|assistant|> a  (no <|end|>), and the index of the first answer token."""
    p = enc.prompt(question)
    return p + enc.answer(answer), len(p)


def icv_vectors(params, enc, pairs, position="mean-answer"):
    """[L, d] safe - unsafe mean residual difference (pairs: [(question, safe, unsafe)])."""
    L = model.CONFIG["num_hidden_layers"]
    acc = {"safe": 0.0, "unsafe": 0.0}
    with torch.no_grad():
        for q, safe, unsafe in pairs:
            for key, ans in (("safe", safe), ("unsafe", unsafe)):
                ids, a0 = demo_ids(enc, q, ans)
                _, hid = model.forward(params, torch.tensor([ids]), want_hidden=True)
                hs = torch.stack([hid[l + 1][0] for l in range(L)])  # [L, T, d]
                if position == "mean-answer":
                    v = hs[:, a0:, :].mean(1)
                elif position == "last":
                    v = hs[:, -1, :]
                else:
                    raise ValueError(position)
                acc[key] = acc[key] + v
    return (acc["safe"] - acc["unsafe"]) / len(pairs)


def first_pc(diffs):
    """Unit first principal component of the rows of diffs [n, d] (centred, float64), signed so
    that the mean row projects positively (ties: the largest component positive)."""
    x = diffs.double()
    mean = x.mean(0)
    _, _, vh = torch.linalg.svd(x - mean, full_matrices=False)
    pc = vh[0] / vh[0].norm()
    proj = float(pc @ mean)
    if abs(proj) > 1e-12 * max(float(mean.abs().sum()), 1.0):
        flip = proj < 0
    else:
        flip = float(pc[pc.abs().argmax()]) < 0
    return -pc if flip else pc


def icv_context(params, tok, pairs):
    """[L, d] in-context ICV (float32) from [(positive text, negative text)]; row 0 is zero."""
    L = model.CONFIG["num_hidden_layers"]
    states = {0: [], 1: []}
    with torch.no_grad():
        for pair in pairs:
            for side, text in enumerate(pair):
                ids = tok.encode(text, specials=True)
                _, hid = model.forward(params, torch.tensor([ids]), want_hidden=True)
                states[side].append(torch.stack([hid[l + 1][0, -1] for l in range(L)]))
    diffs = torch.stack(states[0]) - torch.stack(states[1])  # [n, L, d], float32 as in C
    out = torch.zeros(L, diffs.shape[-1])
    for l in range(1, L):
        out[l] = first_pc(diffs[:, l, :]).float()
    return out
