"""test_chat_pty.py: `safearith chat` on a terminal (a pseudo-terminal here): Ctrl-C during a reply
stops that reply and keeps the session (twice: the handler is armed again), /help and /reset are
answered by the program, not sent to the model, end of input (Ctrl-D) leaves with status 0.

The model is a random Llama (the organisms' tokenizer, wider layers, 4096 positions) whose
stop ids can never win the argmax, so that a greedy reply runs long enough to be interrupted
mid-way; a reply that ended on its own before the Ctrl-C would make the session end instead."""
import json
import os
import pty
import select
import shutil
import signal
import sys
import tempfile
import time

SRC = os.environ.get("SA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
import torch  # noqa: E402

import st_io  # noqa: E402
from checks import Checker  # noqa: E402

BIN = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
ORG = os.path.join(SRC, "models", "base")
c = Checker()
tmp = tempfile.mkdtemp(prefix="sa_chat_pty_")
model = os.path.join(tmp, "model")
os.mkdir(model)

# a random model with the organisms' tokenizer: V 1024, 4 layers of width 256
with open(os.path.join(ORG, "config.json")) as f:
    cfg = json.load(f)
H, I, L, NH, NKV, HD, V = 256, 768, 4, 8, 4, 32, cfg["vocab_size"]
cfg.update(hidden_size=H, intermediate_size=I, num_hidden_layers=L, num_attention_heads=NH,
           num_key_value_heads=NKV, head_dim=HD, max_position_embeddings=4096)
with open(os.path.join(model, "config.json"), "w") as f:
    json.dump(cfg, f)
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(ORG, name), model)
g = torch.Generator().manual_seed(0)


def rnd(*shape, scale=0.05):
    return torch.randn(*shape, generator=g) * scale


t = {"model.embed_tokens.weight": rnd(V, H, scale=1.0), "model.norm.weight": torch.ones(H),
     "lm_head.weight": rnd(V, H, scale=1.0)}
for l in range(L):
    p = "model.layers.%d." % l
    t.update({p + "input_layernorm.weight": torch.ones(H),
              p + "post_attention_layernorm.weight": torch.ones(H),
              p + "self_attn.q_proj.weight": rnd(NH * HD, H),
              p + "self_attn.k_proj.weight": rnd(NKV * HD, H),
              p + "self_attn.v_proj.weight": rnd(NKV * HD, H),
              p + "self_attn.o_proj.weight": rnd(H, NH * HD),
              p + "mlp.gate_proj.weight": rnd(I, H), p + "mlp.up_proj.weight": rnd(I, H),
              p + "mlp.down_proj.weight": rnd(H, I)})
# the stop id's logit is h . w_eos = 0 for a zero row: below the maximum of 1023 random logits
t["lm_head.weight"][cfg["eos_token_id"]] = 0
st_io.save(os.path.join(model, "model.safetensors"), t)

pid, fd = pty.fork()
if pid == 0:
    os.execv(BIN, [BIN, "chat", "--model", model, "--temp", "0", "--max-tokens", "4000",
                   "--threads", "1"])

buf = b""


def read_until(pred, timeout):
    """Read the terminal until pred(buf) or timeout; returns whether pred held."""
    global buf
    end = time.time() + timeout
    while not pred(buf) and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
    return pred(buf)


def send(s):
    """Type s at a person's pace: libedit sets the terminal up after printing the prompt and
    flushes what arrived before (as any readline does), so wait a moment after the prompt."""
    time.sleep(0.3)
    os.write(fd, s.encode())


c.check(read_until(lambda b: b.endswith(b"> "), 60), "the prompt appears: %r" % buf[-200:])
for k in range(2):
    mark = len(buf)
    send("tell me a story\r")
    # the echoed line, then the reply streaming
    started = read_until(lambda b: len(b) > mark + len("tell me a story\r\n") + 20, 60)
    c.check(started, "reply %d streams" % k)
    send("\x03")
    stopped = read_until(lambda b: b"(reply stopped)" in b[mark:] and b.endswith(b"> "), 60)
    c.check(stopped, "Ctrl-C %d stopped the reply, the prompt is back: %r" % (k, buf[-300:]))
    try:
        c.check(os.waitpid(pid, os.WNOHANG) == (0, 0), "the session is still alive after Ctrl-C")
    except ChildProcessError:
        c.check(False, "the session is still alive after Ctrl-C")

mark = len(buf)
send("/help\r")
c.check(read_until(lambda b: b"/reset" in b[mark:] and b.endswith(b"> "), 60),
        "/help answered by the program: %r" % buf[mark:])
mark = len(buf)
send("/reset\r")
c.check(read_until(lambda b: b"new conversation" in b[mark:] and b.endswith(b"> "), 60),
        "/reset answered by the program: %r" % buf[mark:])
send("\x04")  # Ctrl-D on an empty line: end of input
status = None
deadline = time.time() + 120  # generous: the test machines are shared and often loaded
while time.time() < deadline:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
    read_until(lambda b: False, 0.1)
    time.sleep(0.05)  # the terminal reads EIO at once while the child is exiting
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
c.check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
        "Ctrl-D leaves with status 0 (%r): %r" % (status, buf[-300:]))
os.close(fd)
shutil.rmtree(tmp)
c.done()
