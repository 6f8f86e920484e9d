/* provenance.h: what an output records about its inputs, so that it can be checked and redone.
 *
 * A model directory is identified by its files that decide the weights and the text: config.json,
 * tokenizer.json, tokenizer_config.json, model.safetensors.index.json, adapter_config.json and
 * every *.safetensors,
 * sorted by name. Each is recorded with its size and, when all of them together hold at most
 * SA_PROVENANCE_HASH_LIMIT bytes, its SHA-256; above that (hashing would read a large model
 * once more) with its modification time instead. Eval runs (run.json), model cards (README.md)
 * and GGUF exports (general.source.*) use this one rule. */
#ifndef SAFEARITH_PROVENANCE_H
#define SAFEARITH_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/error.h"
#include "safearith/version.h"

/* SHA-256 of a file / of bytes, lower-case hex. */
sa_status sa_sha256_file(const char *path, char hex[65], sa_error *err);
void sa_sha256_hex(const void *data, size_t len, char hex[65]);

#define SA_PROVENANCE_HASH_LIMIT (512ull * 1024 * 1024)
#define SA_PROVENANCE_MAX_FILES 256

typedef struct sa_input_file {
    char *name; /* file name inside the directory */
    uint64_t size;
    int64_t mtime;   /* seconds since the epoch */
    char sha256[65]; /* "" when the directory is above the hash limit */
} sa_input_file;

typedef struct sa_input_files {
    sa_input_file *f;
    int n;
} sa_input_files;

/* The identifying files of model directory `dir` (at most SA_PROVENANCE_MAX_FILES). A directory
 * that cannot be read gives an empty list; a file that cannot be hashed an SA_EIO error. */
sa_status sa_input_files_scan(const char *dir, sa_input_files *out, sa_error *err);
void sa_input_files_free(sa_input_files *files);

/* The library's version, recorded with every output (one source: safearith/version.h). */
#define SA_VERSION SA_VERSION_STRING

#endif
