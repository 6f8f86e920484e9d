"""arith.py: reference weight arithmetic and ICV for the organisms (float32 PyTorch).

HDR (Safety Arithmetic eqs. 1-4, as the official code does it): tau = H - B over all tensors (or
only over decoder layers `layers`), keep |tau| >= t where t is the (d - floor(k*d/100))-th smallest
|tau| over the flattened selection (torch.kthvalue; ties at t kept), out = T - lambda * tau_k.
RESTA: out = SFT + beta * (A - U); with DARE: A + DARE_p(SFT - A) + beta * (A - U), DARE masks from
torch.bernoulli with one seeded generator in sorted tensor-name order (not the C tool's RNG).
ICV: v_l = mean h_l(safe demo) - mean h_l(unsafe demo), h_l the residual after decoder layer l,
at position "mean-answer" (mean over the answer tokens) or "last".
"""
import re

import torch

import bpe
import model


def _in_layers(name, layers):
    m = re.match(r"model\.layers\.(\d+)\.", name)
    return m is not None and int(m.group(1)) in layers


def harm_vector(base, harmful, layers=None):
    tau = {}
    for n in sorted(base):
        t = harmful[n] - base[n]
        if layers is not None and not _in_layers(n, layers):
            t = torch.zeros_like(t)
        tau[n] = t
    return tau


def trim_topk(tau, k_percent, layers=None):
    names = [n for n in sorted(tau) if layers is None or _in_layers(n, layers)]
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


def hdr(target, base, harmful, lam, k_percent=10.0, layers=None, trim=True):
    tau = harm_vector(base, harmful, layers)
    if trim:
        tau = trim_topk(tau, k_percent, layers)
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
