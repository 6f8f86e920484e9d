"""arith_ref.py: independent PyTorch reference implementations of safearith's weight arithmetic,
written from the papers and the official code's conventions (not from safearith's C code), for
the end-to-end tests.

- HDR (Safety Arithmetic, Ties_Merge.topk_values_mask): global threshold = torch.kthvalue of
  |tau| over the flattened selection at d - int(d * K), mask |tau| >= threshold, tau * mask,
  out = T - lambda * tau'.
- RESTA: out = S + beta (A - U); with DARE, A + DARE_p(S - A) + beta (A - U).
- DARE's mask: Philox4x32-10 keyed by (seed, stream, tensor name) as documented in docs/arith.md.
- mergekit generalized task arithmetic (task_arithmetic, ties, dare_linear, dare_ties).
All arithmetic is float32; scalars are applied as float32 tensors so that no double-precision
scalar path of torch is involved.
"""
import re

import numpy as np
import torch

M64 = (1 << 64) - 1
M32 = np.uint64(0xFFFFFFFF)


def f32(x, like):
    return torch.full_like(like, float(x), dtype=torch.float32)


# ---- task vectors and HDR ----

def layer_of(name):
    m = re.search(r"(?:^|\.)(?:layers|h|blocks)\.(\d+)(?:\.|$)", name)
    return int(m.group(1)) if m else -1


def kth_threshold(flat_abs, k_percent):
    """The official topk_values_mask threshold; None means keep everything."""
    d = flat_abs.numel()
    K = k_percent / 100
    kk = d - int(d * K)
    if kk <= 0:
        return None
    return flat_abs.kthvalue(kk).values


def hdr(T, B, H, k=10.0, lam=3.0, scope="global", select=lambda n: True, trim=True,
        dense_outside=False, out_dtype=None, arith=("F32", "BF16", "F16")):
    is_arith = {n: T[n].is_floating_point() and T[n].dtype != torch.float64 for n in T}
    tau = {n: (H[n].float() - B[n].float()) if B is not None else H[n].float()
           for n in T if is_arith[n]}
    sel = [n for n in T if is_arith[n] and select(n)]
    thr = None
    if trim and scope == "global":
        thr = kth_threshold(torch.cat([tau[n].reshape(-1).abs() for n in sel]), k)
    out = {}
    for n, t in T.items():
        dt = out_dtype if (out_dtype is not None and is_arith[n]) else t.dtype
        if n in sel:
            tt = tau[n]
            if trim:
                th = thr if scope == "global" else kth_threshold(tt.reshape(-1).abs(), k)
                if th is not None:
                    tt = tt * (tt.abs() >= th)
            out[n] = (t.float() - f32(lam, tt) * tt).to(dt)
        elif dense_outside and is_arith[n]:
            out[n] = (t.float() - f32(lam, tau[n]) * tau[n]).to(dt)
        else:
            out[n] = t.to(dt) if is_arith[n] else t.clone()
    return out


# ---- DARE mask ----

def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def dare_key(seed, stream, name):
    h = 1469598103934665603
    for b in name.encode():
        h = ((h ^ b) * 1099511628211) & M64
    k = _mix64(_mix64(seed) ^ _mix64((h + 0x9e3779b97f4a7c15 * (stream + 1)) & M64))
    return k & 0xFFFFFFFF, k >> 32


def philox4x32(k0, k1, c0, c1):
    x0, x1 = c0.astype(np.uint64), c1.astype(np.uint64)
    x2, x3 = np.zeros_like(x0), np.zeros_like(x0)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * x0
        p1 = np.uint64(0xCD9E8D57) * x2
        x0, x1, x2, x3 = ((p1 >> np.uint64(32)) ^ x1 ^ np.uint64(k0), p1 & M32,
                          (p0 >> np.uint64(32)) ^ x3 ^ np.uint64(k1), p0 & M32)
        k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return x0, x1, x2, x3


def dare_mask(seed, stream, name, numel, density):
    """Float32 0/1 keep mask of numel elements, keep iff draw < int(density * 2^32)."""
    if numel == 0:
        return torch.zeros(0)
    k0, k1 = dare_key(seed, stream, name)
    idx = np.arange(numel, dtype=np.uint64)
    blocks = np.unique(idx >> np.uint64(2))
    words = np.stack(philox4x32(k0, k1, blocks & M32, blocks >> np.uint64(32)), axis=1)
    draws = words.reshape(-1)[:numel]
    below = (1 << 32) if density >= 1 else int(density * 4294967296.0)
    return torch.from_numpy((draws < below).astype(np.float32))


def _rescale_l1(d, dm):
    full = d.double().abs().sum().item()
    kept = dm.double().abs().sum().item()
    if full < 1e-7 or kept < 1e-7:
        return dm
    return dm * f32(np.float32(full / kept), dm)


def resta(S, A, U, beta=1.0, p=0.0, seed=0, rescale="inverse", out_dtype=None):
    out = {}
    for n, s in S.items():
        if not (s.is_floating_point() and s.dtype != torch.float64):
            out[n] = s.clone()
            continue
        dt = out_dtype or s.dtype
        sf, af, uf = s.float(), A[n].float(), U[n].float()
        sv = f32(beta, af) * (af - uf)
        if p <= 0:
            out[n] = (sf + sv).to(dt)
            continue
        d = sf - af
        m = dare_mask(seed, 0, n, d.numel(), 1.0 - p).reshape(d.shape)
        dm = d * m
        if rescale == "inverse":
            dd = dm / f32(np.float32(1.0 - p), dm)
        elif rescale == "l1":
            dd = _rescale_l1(d, dm)
        else:
            dd = dm
        out[n] = ((af + dd) + sv).to(dt)
    return out


# ---- mergekit generalized task arithmetic ----

def _magnitude_mask(delta, density):
    """Top int(density * n) by |delta| (ties at the threshold kept)."""
    n = delta.numel()
    k = int(density * n)
    if k >= n:
        return torch.ones_like(delta)
    if k <= 0:
        return torch.zeros_like(delta)
    th = delta.reshape(-1).abs().kthvalue(n - k).values
    return (delta.abs() >= th).float()


def merge(base, models, method, weights, densities, lam=1.0, normalize=None, rescale=True,
          rescale_mode="l1", seed=0, trim_scope="per_tensor", out_dtype=None):
    """base: {name: tensor}; models: list of {name: tensor}."""
    ties = method in ("ties", "dare_ties")
    dare = method in ("dare_linear", "dare_ties")
    if normalize is None:
        normalize = method == "ties"
    gthr = {}
    if method == "ties" and trim_scope == "global":
        for i, m in enumerate(models):
            if densities[i] >= 1:
                continue
            flat = torch.cat([(m[n].float() - base[n].float()).reshape(-1).abs() for n in base])
            k = int(densities[i] * flat.numel())
            gthr[i] = None if k <= 0 else flat.kthvalue(flat.numel() - k).values
    out = {}
    for n, b in base.items():
        if not (b.is_floating_point() and b.dtype != torch.float64):
            out[n] = b.clone()
            continue
        bf = b.float()
        wds, ws = [], []
        for i, m in enumerate(models):
            d = m[n].float() - bf
            if densities[i] < 1:
                if method == "ties":
                    if trim_scope == "global":
                        d = d * ((d.abs() >= gthr[i]).float() if gthr[i] is not None
                                 else torch.zeros_like(d))
                    else:
                        d = d * _magnitude_mask(d, densities[i])
                elif dare:
                    mk = dare_mask(seed, i, n, d.numel(), densities[i]).reshape(d.shape)
                    dm = d * mk
                    if not rescale:
                        d = dm
                    elif rescale_mode == "l1":
                        d = _rescale_l1(d, dm)
                    else:
                        d = dm / f32(np.float32(densities[i]), dm)
            w = f32(weights[i], bf)
            wds.append(w * d)
            ws.append(w)
        if ties:
            total = wds[0].clone()
            for x in wds[1:]:
                total = total + x
            sign = torch.where(total >= 0, 1.0, -1.0)
            mixed, div = None, None
            for x, w in zip(wds, ws):
                mk = (torch.sign(x) == sign).float()
                mixed = x * mk if mixed is None else mixed + x * mk
                div = w * mk if div is None else div + w * mk
            div = torch.where(div == 0, torch.ones_like(div), div)
        else:
            mixed, div = wds[0].clone(), ws[0].clone()
            for x, w in zip(wds[1:], ws[1:]):
                mixed = mixed + x
                div = div + w
            div = torch.where(div.abs() < 1e-8, torch.ones_like(div), div)
        if normalize:
            mixed = mixed / div
        if lam != 1:
            mixed = mixed * f32(lam, mixed)
        out[n] = (bf + mixed).to(out_dtype or b.dtype)
    return out
