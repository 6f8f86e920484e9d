"""bpe.py: the organisms' byte-level BPE tokenizer: training, encoding, decoding, HF export.

Pipeline (the same as a Hugging Face tokenizer.json with a Split + ByteLevel pre-tokenizer):
  1. special tokens (<|pad|> <|user|> <|assistant|> <|end|>) are cut out of the raw text first;
  2. the text between them is split into pre-tokens by SPLIT_PATTERN (the Qwen2 pattern: GPT-2-like,
     every digit its own pre-token), implemented here by hand with unicodedata so that it needs no
     third-party regex module and matches PCRE2 with UTF + UCP;
  3. each pre-token's UTF-8 bytes are mapped to printable characters (the GPT-2 byte-to-unicode map);
  4. BPE merges are applied by rank (lowest rank first, leftmost first among equal ranks).
Vocabulary: 256 byte tokens (ids 0..255, in byte order), 764 merges (ids 256..1019), 4 specials
(ids 1020..1023) = 1024.
"""
import json
import unicodedata

SPECIALS = ["<|pad|>", "<|user|>", "<|assistant|>", "<|end|>"]
N_MERGES = 764
VOCAB_SIZE = 256 + N_MERGES + len(SPECIALS)
PAD_ID, USER_ID, ASSISTANT_ID, END_ID = range(256 + N_MERGES, VOCAB_SIZE)

# The pre-tokenizer regex, as written into tokenizer.json (Qwen2's pattern).
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def byte_to_char_map():
    """GPT-2 byte-level map: printable Latin-1 bytes stand for themselves, the other 68 bytes
    take U+0100 + n in byte order (so ' ' -> 'Ġ', '\\n' -> 'Ċ')."""
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


BYTE_CHAR = byte_to_char_map()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}


def _is_l(c):
    return unicodedata.category(c)[0] == "L"


def _is_n(c):
    return unicodedata.category(c)[0] == "N"


def _is_s(c):
    """PCRE2 \\s under UCP: tab, LF, VT, FF, CR and the Z (separator) categories."""
    return c in "\t\n\x0b\x0c\r" or unicodedata.category(c) in ("Zs", "Zl", "Zp")


_CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def _match_at(s, i):
    """End of the match of SPLIT_PATTERN starting at i (alternatives tried in order)."""
    n = len(s)
    c = s[i]
    # 1. contractions, ASCII apostrophe, case-insensitive
    if c == "'":
        for suf in _CONTRACTIONS:
            if s[i + 1:i + 1 + len(suf)].lower() == suf:
                return i + 1 + len(suf)
    # 2. [^\r\n\p{L}\p{N}]?\p{L}+
    j = i
    if c not in "\r\n" and not _is_l(c) and not _is_n(c) and i + 1 < n and _is_l(s[i + 1]):
        j = i + 1
    if _is_l(s[j]):
        while j < n and _is_l(s[j]):
            j += 1
        return j
    # 3. \p{N}
    if _is_n(c):
        return i + 1
    # 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    j = i + 1 if c == " " else i

    def punct(ch):
        return not _is_s(ch) and not _is_l(ch) and not _is_n(ch)

    if j < n and punct(s[j]):
        while j < n and punct(s[j]):
            j += 1
        while j < n and s[j] in "\r\n":
            j += 1
        return j
    # whitespace run
    w = i
    while w < n and _is_s(s[w]):
        w += 1
    if w == i:
        raise AssertionError("unreachable: every character matches some alternative")
    # 5. \s*[\r\n]+ : up to and including the last CR/LF of the run
    last_nl = -1
    for k in range(i, w):
        if s[k] in "\r\n":
            last_nl = k
    if last_nl >= 0:
        return last_nl + 1
    # 6. \s+(?!\S)
    if w == n:
        return w
    if w - i >= 2:
        return w - 1
    # 7. \s+
    return w


def pre_split(text):
    """Split text (no special tokens in it) into pre-tokens."""
    out, i = [], 0
    while i < len(text):
        j = _match_at(text, i)
        out.append(text[i:j])
        i = j
    return out


def to_byte_chars(piece):
    return "".join(BYTE_CHAR[b] for b in piece.encode("utf-8"))


def split_specials(text):
    """[(is_special, str)] with special tokens cut out of the text (leftmost, longest first)."""
    out, i, start = [], 0, 0
    while i < len(text):
        hit = None
        if text[i] == "<":
            for sp in sorted(SPECIALS, key=len, reverse=True):
                if text.startswith(sp, i):
                    hit = sp
                    break
        if hit:
            if start < i:
                out.append((False, text[start:i]))
            out.append((True, hit))
            i += len(hit)
            start = i
        else:
            i += 1
    if start < len(text):
        out.append((False, text[start:]))
    return out


def merge_pair(sq, a, b):
    """sq with every adjacent (a, b), left to right, replaced by a + b."""
    new, k = [], 0
    while k < len(sq):
        if k + 1 < len(sq) and sq[k] == a and sq[k + 1] == b:
            new.append(a + b)
            k += 2
        else:
            new.append(sq[k])
            k += 1
    return new


def train(texts, n_merges=N_MERGES):
    """Learn merges from texts (deterministic: most frequent pair, ties broken by the smaller
    (left, right) string pair; a pair whose concatenation is already a token is skipped)."""
    words = {}
    for t in texts:
        for _, part in (p for p in split_specials(t) if not p[0]):
            for piece in pre_split(part):
                w = to_byte_chars(piece)
                words[w] = words.get(w, 0) + 1
    seqs = [list(w) for w in sorted(words)]
    freq = [words[w] for w in sorted(words)]
    pairs, where = {}, {}
    for wi, sq in enumerate(seqs):
        for a, b in zip(sq, sq[1:]):
            pairs[(a, b)] = pairs.get((a, b), 0) + freq[wi]
            where.setdefault((a, b), set()).add(wi)
    vocab = set(BYTE_CHAR.values())
    merges = []
    while len(merges) < n_merges:
        cands = [(-c, p) for p, c in pairs.items() if c > 0 and p[0] + p[1] not in vocab]
        if not cands:
            break
        _, best = min(cands)
        a, b = best
        merges.append(best)
        vocab.add(a + b)
        for wi in sorted(where.get(best, ())):
            sq = seqs[wi]
            for x, y in zip(sq, sq[1:]):
                pairs[(x, y)] -= freq[wi]
            new = merge_pair(sq, a, b)
            seqs[wi] = new
            for x, y in zip(new, new[1:]):
                pairs[(x, y)] = pairs.get((x, y), 0) + freq[wi]
                where.setdefault((x, y), set()).add(wi)
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.rank = {m: r for r, m in enumerate(self.merges)}
        self.vocab = {BYTE_CHAR[b]: b for b in range(256)}
        for r, (a, b) in enumerate(self.merges):
            self.vocab[a + b] = 256 + r
        for k, sp in enumerate(SPECIALS):
            self.vocab[sp] = 256 + len(self.merges) + k
        self.id_to_tok = {i: t for t, i in self.vocab.items()}
        self.cache = {}

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        sq = list(word)
        while len(sq) > 1:
            best = min((self.rank.get(p, 1 << 30), p) for p in zip(sq, sq[1:]))
            if best[0] == 1 << 30:
                break
            sq = merge_pair(sq, *best[1])
        ids = [self.vocab[t] for t in sq]
        self.cache[word] = ids
        return ids

    def encode(self, text, specials=True):
        """Token ids of text; with specials=False special-token text is ordinary text."""
        parts = split_specials(text) if specials else [(False, text)]
        ids = []
        for is_sp, part in parts:
            if is_sp:
                ids.append(self.vocab[part])
            else:
                for piece in pre_split(part):
                    ids.extend(self._bpe(to_byte_chars(piece)))
        return ids

    def decode(self, ids, skip_special=False):
        out, buf = [], bytearray()
        for i in ids:
            tok = self.id_to_tok[int(i)]
            if tok in SPECIALS:
                out.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
                if not skip_special:
                    out.append(tok)
            else:
                buf.extend(CHAR_BYTE[c] for c in tok)
        out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    def truncate_text(self, text, max_tokens):
        """The longest prefix of text made of whole pre-tokens that encodes to at most
        max_tokens tokens (so that the prefix re-encodes to a prefix of the full encoding)."""
        total, end = 0, 0
        for piece in pre_split(text):
            n = len(self._bpe(to_byte_chars(piece)))
            if total + n > max_tokens:
                break
            total += n
            end += len(piece)
        return text[:end]

    # ---- Hugging Face export ----

    def tokenizer_json(self):
        added = [{"id": self.vocab[sp], "content": sp, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True} for sp in SPECIALS]
        model_vocab = {t: i for t, i in sorted(self.vocab.items(), key=lambda kv: kv[1])
                       if t not in SPECIALS}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {
                "type": "Sequence",
                "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN},
                     "behavior": "Isolated", "invert": False},
                    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                     "use_regex": False},
                ],
            },
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                        "use_regex": False},
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None,
                "continuing_subword_prefix": None, "end_of_word_suffix": None,
                "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": model_vocab,
                "merges": [a + " " + b for a, b in self.merges],
            },
        }

    def save_json(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")


def load_tokenizer_json(path):
    """Rebuild a Tokenizer from our own tokenizer.json (merges and ids are checked)."""
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    merges = [tuple(m.split(" ")) for m in tj["model"]["merges"]]
    tok = Tokenizer(merges)
    for t, i in tj["model"]["vocab"].items():
        if tok.vocab.get(t) != i:
            raise ValueError(f"{path}: vocab entry {t!r} has id {i}, expected {tok.vocab.get(t)}")
    return tok
