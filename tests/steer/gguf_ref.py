"""gguf_ref.py: an independent GGUF reader and writer in numpy for the steering tests.

Written from the format description (ggml's gguf.h), not from safearith's C code. The writer can
produce the layouts of llama.cpp's cvector-generator (INT32 layer_count, no alignment key) and of
repeng (UINT32 layer_count, directions in any order), and raw pieces for malformed files."""
import struct

import numpy as np

T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
_SCALAR = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
           T_F32: "<f", T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, typ, value, elem=None):
    out = s(key) + struct.pack("<I", typ)
    if typ == T_STR:
        return out + s(value)
    if typ == T_ARR:
        out += struct.pack("<IQ", elem, len(value))
        return out + b"".join(s(v) if elem == T_STR else struct.pack(_SCALAR[elem], v) for v in value)
    return out + struct.pack(_SCALAR[typ], value)


def build(kvs, tensors, version=3, align=32, ggml_type=0):
    """kvs: list of kv() byte strings; tensors: list of (name, np.ndarray float32 1-D or 2-D)."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    infos, blob = b"", b""
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        dims = list(arr.shape)[::-1]  # ne[0] is the fastest dimension
        infos += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<q", d) for d in dims)
        infos += struct.pack("<IQ", ggml_type, len(blob))
        blob += arr.tobytes()
        blob += b"\0" * ((-len(blob)) % align)
    body = head + infos
    body += b"\0" * ((-len(body)) % align)
    return body + blob


_NBYTES = {0: lambda n: 4 * n, 1: lambda n: 2 * n, 30: lambda n: 2 * n, 8: lambda n: n // 32 * 34}


def read(data, raw=False):
    """Parse a GGUF image into (version, {key: value}, {name: np.ndarray}) (F32 tensors only), or
    with raw=True {name: (ggml type, dims ne[0] first, bytes)} for F32/F16/BF16/Q8_0. Raises
    ValueError."""
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise ValueError("truncated")
        out = data[pos:pos + n]
        pos += n
        return out

    def unpack(fmt):
        return struct.unpack(fmt, take(struct.calcsize(fmt)))[0]

    def string():
        return take(unpack("<Q")).decode()

    def value(typ):
        if typ == T_STR:
            return string()
        if typ == T_ARR:
            elem, n = unpack("<I"), unpack("<Q")
            return [value(elem) for _ in range(n)]
        return unpack(_SCALAR[typ])

    if take(4) != b"GGUF":
        raise ValueError("magic")
    version = unpack("<I")
    n_t, n_kv = unpack("<Q"), unpack("<Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(unpack("<I"))
    align = meta.get("general.alignment", 32)
    infos = []
    for _ in range(n_t):
        name = string()
        nd = unpack("<I")
        dims = [unpack("<q") for _ in range(nd)]
        typ, off = unpack("<I"), unpack("<Q")
        infos.append((name, dims, typ, off))
    start = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, typ, off in infos:
        assert off % align == 0, "unaligned tensor"
        n = int(np.prod(dims))
        if raw:
            size = _NBYTES[typ](n)
            if start + off + size > len(data):
                raise ValueError("data past the end: " + name)
            tensors[name] = (typ, dims, data[start + off:start + off + size])
            continue
        assert typ == 0, "only F32 here"
        tensors[name] = np.frombuffer(data, dtype="<f4", count=n, offset=start + off).reshape(dims[::-1])
    return version, meta, tensors
