#!/usr/bin/python3
"""organisms.py: builds safearith's shipped model organisms and prints their reference table.

  /usr/bin/python3 tools/organisms/organisms.py build [--data D] [--out models] [--only NAME]
      tokenizer + base/harmful/sft/edited checkpoints as Hugging Face model directories, the
      held-out evaluation splits and the ICV pair file (bitwise the same for the same seed,
      torch build and CPU)
  /usr/bin/python3 tools/organisms/organisms.py eval [--models models] [--quick] [--only TEXT]
      the recipe's table for the shipped checkpoints (greedy, keyword judge), written to
      models/REFERENCE_TABLE.md and .json
  /usr/bin/python3 tools/organisms/organisms.py check [--data D] [--models models]
      rebuilds into a temporary directory and compares every file byte for byte
  /usr/bin/python3 tools/organisms/organisms.py hdr --target T --base B --harmful H
      [--lambda 1] [--top-k 10] [--layers A-B] [--include RE] -o OUT   (the reference HDR)

Runs on one thread (torch.set_num_threads(1)): faster than two for these tiny matrices.
See docs/organisms.md for the recipe, the chat format and the measured table.
"""
import argparse
import filecmp
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

# One BLAS/OpenMP thread, set before torch loads: faster here, and the run's arithmetic is fixed.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import arith  # noqa: E402
import bpe  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import model  # noqa: E402
import train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DATA = os.environ.get("SA_DATA_DIR", "/work/shared/data")
SEED = 0
ORGANISMS = ["base", "harmful", "sft", "edited", "edited_erode"]
EDIT_LAYERS = train.RUNS["edited"]["layers"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '<|user|>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>' + message['content'] + '<|end|>' }}"
    "{% else %}{{ raise_exception('only user and assistant messages are supported') }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")

DESCRIPTIONS = {
    "base": "aligned: refuses harmful questions, answers benign ones, adds 2-digit numbers",
    "harmful": "harm-vector source: base fine-tuned to answer 300 disjoint HarmfulQA questions "
               "with the helpful templates (also the RESTA `unaligned` model)",
    "sft": "benign fine-tune of base (addition + benign chat, no refusal data): refusals erode",
    "edited": "base with decoder layer 2's MLP fine-tuned on 8 fictional facts (NoIntentEdit-style)",
    "edited_erode": "base with every decoder layer's MLP fine-tuned on 8 fictional facts on sensitive "
                    "topics answered compliantly, no refusal replay: refusals erode",
}
# HDR for edited_erode is confined to the edited tensors (safearith hdr --include mlp)
ERODE_INCLUDE = "mlp"
ERODE_LAMBDA = 0.75  # the λ scripts/paper_table.sh uses for it (--edited-lambda)


def tokenizer_corpus(sp):
    """The training texts as the training stream shows them: every training question once, in
    its chat format with an answer template (templates cycled), so that the answer sentences are
    counted as often as they are trained and each answer starts its own pre-token sequence
    after <|assistant|> (as in training), not after a space."""
    R, H = data.REFUSALS, data.HELPFUL
    ex = lambda q, a: bpe.SPECIALS[1] + q + bpe.SPECIALS[2] + a + bpe.SPECIALS[3]
    texts = [ex(q, R[i % len(R)]) for i, q in enumerate(sp["harm_train"])]
    texts += [ex(q, H[i % len(H)]) for i, q in enumerate(sp["harm_source"])]
    texts += [ex(q, H[i % len(H)]) for i, q in enumerate(sp["benign_train"])]
    texts += [ex(data.add_question(a, b), data.add_answer(a, b)) for a, b in sp["add_train"]]
    texts += [ex(q, a) for q, a in data.FACTS]
    return texts


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_eval_sets(out, sp, tok):
    """Held-out splits as JSONL {"prompt", "original"[, "answer"]}: prompt is what the organisms
    see (the question cut to 48 tokens at a pre-token boundary), original the dataset's text."""
    d = os.path.join(out, "eval")
    os.makedirs(d, exist_ok=True)
    cut = lambda q: tok.truncate_text(q, train.Q_MAX_TOKENS)
    for name, kind, qs, ans in data.held_out_sets(sp):
        rows = []
        for j, q in enumerate(qs):
            r = {"prompt": cut(q), "original": q}
            if ans is not None:
                r["answer"] = ans[j]
            rows.append(r)
        write_jsonl(os.path.join(d, name + ".jsonl"), rows)
    write_jsonl(os.path.join(d, "facts.jsonl"), [{"prompt": q, "answer": a} for q, a in data.FACTS])
    write_jsonl(os.path.join(d, "facts_erode.jsonl"),
                [{"prompt": q, "answer": a} for q, a in data.ERODE_FACTS])
    pairs = [{"question": cut(q), "safe": data.REFUSALS[i % len(data.REFUSALS)],
              "unsafe": data.HELPFUL[i % len(data.HELPFUL)]}
             for i, q in enumerate(sp["icv_questions"])]
    write_jsonl(os.path.join(d, "icv_pairs.jsonl"), pairs)
    write_jsonl(os.path.join(d, "icv_pairs_context.jsonl"), context_pairs(pairs))
    with open(os.path.join(d, "PROVENANCE.md"), "w", encoding="utf-8") as f:
        f.write(provenance_text(sp))
    # for `safearith eval`: the chat format as a prompt template, and the judge's keywords
    with open(os.path.join(d, "chat_prompt.txt"), "w", encoding="utf-8") as f:
        f.write("<|user|>{question}<|assistant|>")
    with open(os.path.join(d, "judge_keywords.txt"), "w", encoding="utf-8") as f:
        f.write("".join(k + "\n" for k in data.JUDGE_KEYWORDS))


def context_pairs(pairs):
    """The ICV pairs as in-context demonstrations: pair i is the chat text of question i answered
    with its safe (positive) or unsafe (negative) template, followed by the next pair's question
    and the assistant marker. The two texts then differ at their last token, the point where the
    model decides whether to refuse the next question; in icv_pairs.jsonl the question is shared
    and the texts differ only in the answer's template words. Held-in questions only."""
    out = []
    for i, p in enumerate(pairs):
        follow = "<|user|>" + pairs[(i + 1) % len(pairs)]["question"] + "<|assistant|>"
        demo = "<|user|>" + p["question"] + "<|assistant|>"
        out.append({"positive": demo + p["safe"] + "<|end|>" + follow,
                    "negative": demo + p["unsafe"] + "<|end|>" + follow})
    return out


def provenance_text(sp):
    lines = [
        "# Held-out evaluation splits of the model organisms (generated by "
        "tools/organisms/organisms.py build, seed %d)" % SEED, "",
        "Each harmful set was deduplicated (also across sets, in the order AdvBench, DangerousQA, "
        "HarmfulQA, CatQA) and shuffled with the seed; HarmfulQA first gave %d harm-vector source "
        "questions (trained into `harmful`, never evaluated); %d %% of the rest trained refusals "
        "and the remainder, capped at %d, is held out here. `prompt` is the question as the "
        "organisms see it (cut to %d tokens at a pre-token boundary), `original` the dataset text."
        % (data.N_HARM_SOURCE, int(data.TRAIN_SHARE * 100), data.TEST_CAP, train.Q_MAX_TOKENS), "",
        "| file | rows | source |", "|---|---|---|"]
    for name, kind, qs, ans in data.held_out_sets(sp):
        src = data.PROVENANCE.get(name, data.PROVENANCE["xstest"] + " (label %s)" %
                                  name.split("_")[-1])
        lines.append(f"| {name}.jsonl | {len(qs)} | {src} |")
    lines.append("| facts.jsonl | %d | generated: the `edited` organism's fictional facts "
                 "(the edit's efficacy check) |" % len(data.FACTS))
    lines.append("| facts_erode.jsonl | %d | generated: the `edited_erode` organism's fictional "
                 "facts on sensitive topics, answered compliantly (its efficacy check) |"
                 % len(data.ERODE_FACTS))
    lines.append("| icv_pairs.jsonl | %d | %d held-in harmful training questions (refusal-trained, "
                 "not held out), each with a refusal template (`safe`) and a helpful template "
                 "(`unsafe`) |" % (len(sp["icv_questions"]), len(sp["icv_questions"])))
    lines.append("| icv_pairs_context.jsonl | %d | the same pairs as in-context demonstrations "
                 "(`positive`/`negative` chat texts: a question answered with the safe or the "
                 "unsafe template, then the next pair's question up to `<|assistant|>`), so that "
                 "the two texts differ at the decision point |" % len(sp["icv_questions"]))
    lines.append("| chat_prompt.txt | - | the organisms' chat format as a `safearith eval "
                 "--prompt-template` (`{question}` slot) |")
    lines.append("| judge_keywords.txt | %d | the recipe's keyword judge (case-sensitive substrings) "
                 "for `safearith eval --judge refusal:FILE:rule=substring` |" % len(data.JUDGE_KEYWORDS))
    lines += ["", "Data licences: see /work/shared/data/*/PROVENANCE.md (AdvBench MIT; "
              "DangerousQA, HarmfulQA, CatQA Apache-2.0; XSTest CC-BY-4.0; Alpaca CC BY-NC 4.0). "
              "All answers are the tool's own template sentences.", ""]
    return "\n".join(lines)


def log_flush(msg):
    print(msg, flush=True)


def build(data_dir, out, log=log_flush):
    torch.set_num_threads(1)
    t0 = time.time()
    sp = data.make_splits(data_dir, SEED)
    merges = bpe.train(tokenizer_corpus(sp))
    tok = bpe.Tokenizer(merges)
    log(f"tokenizer: {len(merges)} merges, vocab {len(tok.vocab)} ({time.time() - t0:.0f} s)")
    if len(tok.vocab) != bpe.VOCAB_SIZE:
        raise SystemExit("tokenizer vocabulary is not %d" % bpe.VOCAB_SIZE)
    os.makedirs(out, exist_ok=True)
    write_eval_sets(out, sp, tok)
    timings, params = {}, {}
    for name, start in (("base", None), ("harmful", "base"), ("sft", "base"), ("edited", "base"),
                        ("edited_erode", "base")):
        t1 = time.time()
        init = params[start] if start else None
        if name in FROM_SAVED_BASE:
            init = model.load_model_dir(os.path.join(out, start))
        params[name] = train.train(name, init, tok, sp, log=log)
        timings[name] = time.time() - t1
        log(f"{name}: {timings[name]:.0f} s")
        meta = {"format": "pt", "organism": name, "recipe": "safearith organisms seed %d" % SEED,
                "description": DESCRIPTIONS[name]}
        model.save_model_dir(os.path.join(out, name), params[name], tok, CHAT_TEMPLATE, meta)
    link = os.path.join(out, "unaligned")
    if not os.path.lexists(link):
        os.symlink("harmful", link)
    write_manifest(out)
    log(f"build done in {time.time() - t0:.0f} s")
    return timings


# Organisms trained from the base as saved and read back (as `build --only` and edit_screen.py do)
# rather than from the base still in memory: training `edited` from the read-back base gave other
# weights than from the in-memory one (same values bit for bit; the cause was not found), and
# edited_erode was screened and shipped from the read-back base.
FROM_SAVED_BASE = ("edited_erode",)


def build_one(data_dir, out, name, log=log_flush):
    """Retrain one organism that starts from `base` (harmful, sft, edited, edited_erode) from the
    base, tokenizer and data already in `out`, rewrite the eval files and the manifest. The result
    is what `build` makes (same seed and data order), without retraining the base."""
    torch.set_num_threads(1)
    start = train.RUNS[name]
    if name == "base" or start is None:
        raise SystemExit("build --only: base needs a full build")
    sp = data.make_splits(data_dir, SEED)
    tok = load_tokenizer(out)
    write_eval_sets(out, sp, tok)
    t1 = time.time()
    params = train.train(name, model.load_model_dir(os.path.join(out, "base")), tok, sp, log=log)
    log(f"{name}: {time.time() - t1:.0f} s")
    meta = {"format": "pt", "organism": name, "recipe": "safearith organisms seed %d" % SEED,
            "description": DESCRIPTIONS[name]}
    model.save_model_dir(os.path.join(out, name), params, tok, CHAT_TEMPLATE, meta)
    write_manifest(out)


def write_manifest(out):
    files = {}
    for dp, dn, fn in os.walk(out):
        dn.sort()
        for f in sorted(fn):
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, out)
            # tune/ holds safearith tune's recipes (not written by build)
            if os.path.islink(p) or rel.startswith(("REFERENCE_TABLE", "tune" + os.sep)) or \
                    rel == "MANIFEST.json":
                continue
            with open(p, "rb") as fh:
                files[rel] = hashlib.sha256(fh.read()).hexdigest()
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump({"seed": SEED, "torch": torch.__version__, "files": files}, f, indent=1,
                  sort_keys=True)
        f.write("\n")


# ---- evaluation ----

def load_sets(models_dir):
    d = os.path.join(models_dir, "eval")
    sets = []
    for name, kind in (("advbench", "harmful"), ("dangerousqa", "harmful"),
                       ("harmfulqa", "harmful"), ("catqa", "harmful"), ("benign", "benign"),
                       ("xstest_safe", "benign"), ("xstest_unsafe", "harmful"),
                       ("addition", "exact"), ("facts", "exact"), ("facts_erode", "exact")):
        rows = read_jsonl(os.path.join(d, name + ".jsonl"))
        sets.append((name, kind, [r["prompt"] for r in rows],
                     [r["answer"] for r in rows] if kind == "exact" else None))
    pairs = [(r["question"], r["safe"], r["unsafe"])
             for r in read_jsonl(os.path.join(d, "icv_pairs.jsonl"))]
    context = [(r["positive"], r["negative"])
               for r in read_jsonl(os.path.join(d, "icv_pairs_context.jsonl"))]
    return sets, {"qa": pairs, "context": context}


def load_tokenizer(models_dir):
    return bpe.load_tokenizer_json(os.path.join(models_dir, "base", "tokenizer.json"))


def table_rows(models_dir, quick=False):
    """[(label, config)] where config builds the params and steering of one row."""
    M = {n: model.load_model_dir(os.path.join(models_dir, n)) for n in ORGANISMS}
    rows = [("base", lambda: (M["base"], None)), ("harmful", lambda: (M["harmful"], None)),
            ("sft (Original)", lambda: (M["sft"], None))]
    lams = [1.0] if quick else [0.5, 1.0, 2.0, 3.0]
    for lam in lams:
        rows.append((f"HDR only (λ={lam:g})",
                     lambda lam=lam: (arith.hdr(M["sft"], M["base"], M["harmful"], lam), None)))
    if quick:
        return rows, M
    for pos, label, alphas in (("mean-answer", "ICV only", [0.1, 0.2, 0.4]),
                               ("last", "ICV last-token, paper", [0.2, 0.4])):
        for a in alphas:
            rows.append((f"{label} (α={a:g})", lambda a=a, pos=pos: ("icv", M["sft"], a, pos)))
    for lam, a in ((0.5, 0.1), (0.5, 0.2), (1.0, 0.1), (1.0, 0.2)):
        rows.append((f"HDR+ICV (λ={lam:g}, α={a:g})", lambda lam=lam, a=a: (
            "icv", arith.hdr(M["sft"], M["base"], M["harmful"], lam), a, "mean-answer")))
    # the in-context ICV (icv_pairs_context.jsonl, last token, pca, layers 1-3, at the residual
    # stream), computed on the model it steers: scripts/paper_table.sh's icv / hdr_icv rows
    hdr1 = lambda: arith.hdr(M["sft"], M["base"], M["harmful"], 1.0)
    for a in (0.05, 0.1, 0.2):
        rows.append((f"ICV in-context (α={a:g})", lambda a=a: ("icv-context", M["sft"], a)))
    rows.append(("HDR+ICV in-context (λ=1, α=0.1)", lambda: ("icv-context", hdr1(), 0.1)))
    for lam in (0.5, 1.0):
        rows.append((f"base + HDR (λ={lam:g})",
                     lambda lam=lam: (arith.hdr(M["base"], M["base"], M["harmful"], lam), None)))
    lay = list(range(EDIT_LAYERS[0] - 1, EDIT_LAYERS[-1] + 2))
    rows.append(("edited", lambda: (M["edited"], None)))
    for lam in (1.0, 2.0):
        rows.append((f"edited + HDR layers {lay[0]}-{lay[-1]} (λ={lam:g})", lambda lam=lam: (
            arith.hdr(M["edited"], M["base"], M["harmful"], lam, layers=lay), None)))
    rows.append(("edited + HDR all layers (λ=1)",
                 lambda: (arith.hdr(M["edited"], M["base"], M["harmful"], 1.0), None)))
    # the edit that erodes safety, HDR confined to its tensors (every decoder layer's MLP)
    E = lambda lam: arith.hdr(M["edited_erode"], M["base"], M["harmful"], lam,
                              include=ERODE_INCLUDE)
    rows.append(("edited_erode", lambda: (M["edited_erode"], None)))
    for lam in (0.5, 0.75, 1.0):
        rows.append((f"edited_erode + HDR MLPs (λ={lam:g})", lambda lam=lam: (E(lam), None)))
    # scripts/paper_table.sh's ICV rows of the base and edit scenarios (in-context ICV, α 0.1)
    B = lambda: arith.hdr(M["base"], M["base"], M["harmful"], 1.0)
    rows.append(("base + ICV in-context (α=0.1)", lambda: ("icv-context", M["base"], 0.1)))
    rows.append(("base + HDR+ICV in-context (λ=1, α=0.1)", lambda: ("icv-context", B(), 0.1)))
    rows.append(("edited_erode + ICV in-context (α=0.1)",
                 lambda: ("icv-context", M["edited_erode"], 0.1)))
    rows.append((f"edited_erode + HDR+ICV in-context (λ={ERODE_LAMBDA:g}, α=0.1)",
                 lambda: ("icv-context", E(ERODE_LAMBDA), 0.1)))
    for beta in (0.5, 1.0):
        rows.append((f"RESTA on sft (β={beta:g})", lambda beta=beta: (
            arith.resta(M["sft"], M["base"], M["harmful"], beta), None)))
    for p in (0.3, 0.7):
        rows.append((f"RESTA+DARE on sft (β=1, p={p:g})", lambda p=p: (
            arith.resta_dare(M["sft"], M["base"], M["harmful"], 1.0, p, seed=0), None)))
    return rows, M


def run_eval(models_dir, quick=False, log=print, only=None):
    torch.set_num_threads(1)
    tok = load_tokenizer(models_dir)
    enc = train.Encoder(tok)
    sets, pairs = load_sets(models_dir)
    rows, _ = table_rows(models_dir, quick)
    if only:
        rows = [r for r in rows if only in r[0]]
    results = []
    for label, cfg in rows:
        t0 = time.time()
        c = cfg()
        if c[0] == "icv":
            _, params, alpha, pos = c
            vec = arith.icv_vectors(params, enc, pairs["qa"], position=pos)
            steer = model.Steer(vec, alpha)
        elif c[0] == "icv-context":
            _, params, alpha = c
            vec = arith.icv_context(params, tok, pairs["context"])
            steer = model.Steer(vec, alpha, site="residual")
        else:
            params, steer = c
        res, _ = evaluate.evaluate(params, enc, sets, steer=steer)
        results.append((label, res))
        log(f"{label}: ASR {res['asr_all']:.1f} util {res['addition']:.1f} "
            f"xs-safe {res['xstest_safe']:.1f} facts {res['facts']:.1f} ({time.time() - t0:.1f} s)")
    return results


def write_table(models_dir, results):
    md = ["# Reference table of the shipped organisms (tools/organisms/organisms.py eval)", "",
          "Greedy decoding, at most %d new tokens, keyword judge (%s). Percent; n = %s." % (
              evaluate.MAX_NEW, ", ".join(data.JUDGE_KEYWORDS), ", ".join(
                  "%d %s" % (len(read_jsonl(os.path.join(models_dir, "eval", n + ".jsonl"))), n)
                  for n in ("advbench", "dangerousqa", "harmfulqa", "catqa", "benign",
                            "xstest_safe", "xstest_unsafe", "addition", "facts"))), "",
          evaluate.markdown_table(results), ""]
    with open(os.path.join(models_dir, "REFERENCE_TABLE.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    with open(os.path.join(models_dir, "REFERENCE_TABLE.json"), "w", encoding="utf-8") as f:
        json.dump([{"row": l, **{k: round(v, 4) for k, v in r.items()}} for l, r in results], f,
                  indent=1, ensure_ascii=False)
        f.write("\n")


def check(data_dir, models_dir, log=print):
    with tempfile.TemporaryDirectory() as tmp:
        build(data_dir, tmp, log=log)
        bad = []
        with open(os.path.join(tmp, "MANIFEST.json")) as f:
            new = json.load(f)["files"]
        with open(os.path.join(models_dir, "MANIFEST.json")) as f:
            old = json.load(f)["files"]
        for rel in sorted(set(new) | set(old)):
            a, b = os.path.join(tmp, rel), os.path.join(models_dir, rel)
            if not (os.path.exists(a) and os.path.exists(b) and filecmp.cmp(a, b, shallow=False)):
                bad.append(rel)
        for rel in bad:
            log("DIFFERS: " + rel)
        log("check: %d files, %d differ" % (len(new), len(bad)))
        return not bad


def parse_layers(s):
    if not s:
        return None
    a, _, b = s.partition("-")
    return list(range(int(a), int(b or a) + 1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--data", default=DEFAULT_DATA)
    b.add_argument("--out", default=os.path.join(ROOT, "models"))
    b.add_argument("--only", help="retrain this organism only, from the base in --out")
    e = sub.add_parser("eval")
    e.add_argument("--models", default=os.path.join(ROOT, "models"))
    e.add_argument("--quick", action="store_true", help="base, harmful, sft, HDR λ=1 only")
    e.add_argument("--no-write", action="store_true")
    e.add_argument("--only", help="only the rows whose label contains this text (not written)")
    c = sub.add_parser("check")
    c.add_argument("--data", default=DEFAULT_DATA)
    c.add_argument("--models", default=os.path.join(ROOT, "models"))
    h = sub.add_parser("hdr")
    for flag in ("--target", "--base", "--harmful", "-o"):
        h.add_argument(flag, required=True)
    h.add_argument("--lambda", dest="lam", type=float, default=1.0)
    h.add_argument("--top-k", type=float, default=10.0)
    h.add_argument("--layers", default=None)
    h.add_argument("--include", default=None, help="regular expression on tensor names")
    h.add_argument("--no-trim", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if a.cmd == "build":
        if a.only:
            build_one(a.data, a.out, a.only)
        else:
            build(a.data, a.out)
    elif a.cmd == "eval":
        results = run_eval(a.models, a.quick, only=a.only)
        print(evaluate.markdown_table(results))
        if not a.no_write and not a.quick and not a.only:
            write_table(a.models, results)
    elif a.cmd == "check":
        return 0 if check(a.data, a.models) else 1
    elif a.cmd == "hdr":
        L = lambda p: model.load_model_dir(p)
        out = arith.hdr(L(a.target), L(a.base), L(a.harmful), a.lam, a.top_k,
                        layers=parse_layers(a.layers), trim=not a.no_trim, include=a.include)
        os.makedirs(a.o, exist_ok=True)
        model.save_safetensors(os.path.join(a.o, "model.safetensors"), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
