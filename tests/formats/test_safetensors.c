/* test_safetensors.c: the safetensors reader and writer.
 *
 * Round trips through the streaming writer (single file and sharded with an index, chunked
 * writes, every kind of shape), sa_st_write_f32_file, misaligned data, whitespace-padded headers,
 * writer misuse, and a corpus of malformed files and index files generated here, each of which
 * must be rejected with its own message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"

static char tmpdir[64];

static char *tpath(const char *name) {
    return sa_path_join(tmpdir, name);
}

/* Write 8-byte length (hlen, or strlen(header) when hlen == UINT64_MAX), header and data. */
/* Every reading test runs twice: shards memory-mapped, then read into memory. */
static sa_ckpt_mode mode = SA_CKPT_MMAP;
static sa_status open_ck(const char *path, sa_checkpoint **out, sa_error *err) {
    return sa_ckpt_open_mode(path, mode, out, err);
}

static void write_raw(const char *path, const char *header, uint64_t hlen, const void *data,
                      size_t dlen) {
    FILE *f = fopen(path, "wb");
    size_t hl = strlen(header);
    if (hlen == UINT64_MAX) hlen = hl;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
    fwrite(b, 1, 8, f);
    fwrite(header, 1, hl, f);
    if (dlen) fwrite(data, 1, dlen, f);
    fclose(f);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* ---- round trips ---- */

typedef struct spec {
    const char *name;
    sa_dtype dtype;
    int ndim;
    int64_t shape[3];
} spec;

static const spec specs[] = {
    {"model.embed_tokens.weight", SA_BF16, 2, {7, 5}},
    {"model.layers.0.mlp.up_proj.weight", SA_F32, 2, {3, 11}},
    {"model.norm.weight", SA_F16, 1, {9}},
    {"empty", SA_F32, 2, {0, 4}},
    {"scalar", SA_F32, 0, {0}},
    {"ids", SA_I64, 1, {3}},
    {"lm_head.weight", SA_BF16, 3, {2, 3, 5}},
};
#define NSPEC (sizeof specs / sizeof specs[0])

static uint64_t spec_bytes(const spec *s) {
    uint64_t n = sa_dtype_bits(s->dtype) / 8;
    for (int i = 0; i < s->ndim; i++) n *= (uint64_t)s->shape[i];
    return n;
}

static unsigned char byte_at(size_t t, uint64_t i) {
    return (unsigned char)(t * 31 + i * 7 + 1);
}

static void write_specs(const char *dir, uint64_t max_shard, size_t chunk) {
    const char *meta[] = {"op", "test", "lambda", "3", NULL};
    sa_st_writer_opts o;
    sa_st_writer_opts_init(&o);
    o.max_shard_bytes = max_shard, o.metadata_kv = meta;
    sa_st_writer *w;
    sa_error err;
    CHECK(sa_st_writer_create(dir, &o, &w, &err) == SA_OK);
    for (size_t t = 0; t < NSPEC; t++)
        CHECK(sa_st_writer_declare(w, specs[t].name, specs[t].dtype, specs[t].ndim, specs[t].shape,
                                   &err) == SA_OK);
    /* one byte stream across tensors, in chunks that straddle tensor boundaries */
    size_t total = 0;
    for (size_t t = 0; t < NSPEC; t++) total += spec_bytes(&specs[t]);
    unsigned char *all = malloc(total + 1);
    size_t k = 0;
    for (size_t t = 0; t < NSPEC; t++)
        for (uint64_t i = 0; i < spec_bytes(&specs[t]); i++) all[k++] = byte_at(t, i);
    for (size_t at = 0; at < total; at += chunk) {
        size_t n = total - at < chunk ? total - at : chunk;
        CHECK(sa_st_writer_write(w, all + at, n, &err) == SA_OK);
    }
    CHECK_MSG(sa_st_writer_finish(w, &err) == SA_OK, "%s", err.msg);
    sa_st_writer_free(w);
    free(all);
}

static void check_specs(const char *path, int want_shards) {
    sa_checkpoint *ck;
    sa_error err;
    CHECK_MSG(open_ck(path, &ck, &err) == SA_OK, "%s", err.msg);
    if (!ck) return;
    CHECK_EQ_INT(sa_ckpt_count(ck), NSPEC);
    CHECK_EQ_INT(sa_ckpt_shard_count(ck), want_shards);
    CHECK(sa_ckpt_metadata(ck, "op") && !strcmp(sa_ckpt_metadata(ck, "op"), "test"));
    CHECK(sa_ckpt_metadata(ck, "format") && !strcmp(sa_ckpt_metadata(ck, "format"), "pt"));
    CHECK(sa_ckpt_metadata(ck, "nope") == NULL);
    uint64_t bytes = 0;
    for (size_t t = 0; t < NSPEC; t++) {
        const sa_st_tensor *x = sa_ckpt_find(ck, specs[t].name);
        CHECK_MSG(x != NULL, "missing %s", specs[t].name);
        if (!x) continue;
        CHECK(x == sa_ckpt_tensor(ck, t)); /* storage order == declaration order */
        CHECK_EQ_INT(x->dtype, specs[t].dtype);
        CHECK_EQ_INT(x->ndim, specs[t].ndim);
        for (int d = 0; d < x->ndim; d++) CHECK_EQ_INT(x->shape[d], specs[t].shape[d]);
        CHECK_EQ_INT(x->nbytes, spec_bytes(&specs[t]));
        int same = 1;
        for (uint64_t i = 0; i < x->nbytes; i++)
            same &= ((const unsigned char *)x->data)[i] == byte_at(t, i);
        CHECK_MSG(same, "data of %s", specs[t].name);
        bytes += x->nbytes;
    }
    CHECK_EQ_INT(sa_ckpt_total_bytes(ck), bytes);
    CHECK_EQ_INT(sa_ckpt_total_params(ck), 35 + 33 + 9 + 0 + 1 + 3 + 30);
    CHECK(sa_ckpt_find(ck, "absent") == NULL);
    sa_ckpt_close(ck);
}

static void test_round_trip(void) {
    char *out = tpath("single");
    const char *inputs[] = {tmpdir};
    sa_outdir od;
    sa_error err;
    /* writing into an input directory is refused */
    CHECK(sa_outdir_open(&od, out, inputs, 1, 0, &err) == SA_EEXIST);
    CHECK(sa_outdir_open(&od, out, NULL, 0, 0, &err) == SA_OK);
    write_specs(od.tmp_path, 0, 5);
    CHECK(sa_outdir_commit(&od, &err) == SA_OK);
    check_specs(out, 1);
    char *file = sa_path_join(out, "model.safetensors");
    check_specs(file, 1);
    free(file);
    free(out);

    out = tpath("sharded");
    CHECK(sa_outdir_open(&od, out, NULL, 0, 0, &err) == SA_OK);
    write_specs(od.tmp_path, 100, 64);
    CHECK(sa_outdir_commit(&od, &err) == SA_OK);
    check_specs(out, 4); /* greedy at 100 bytes: 70 | 132 | 18+0+4+24 | 60 */
    char *idx = sa_path_join(out, "model.safetensors.index.json");
    check_specs(idx, 4);
    char *shard2 = sa_path_join(out, "model-00004-of-00004.safetensors");
    struct stat st;
    CHECK(stat(shard2, &st) == 0);
    free(shard2);
    free(idx);
    free(out);
}

static void test_writer_misuse(void) {
    sa_st_writer *w;
    sa_error err;
    int64_t shape[1] = {2};
    char *dir = tpath("misuse");
    mkdir(dir, 0755);
    CHECK(sa_st_writer_create(dir, NULL, &w, &err) == SA_OK);
    CHECK(sa_st_writer_declare(w, "a", SA_F32, 1, shape, &err) == SA_OK);
    CHECK(sa_st_writer_declare(w, "a", SA_F32, 1, shape, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "declared twice");
    CHECK(sa_st_writer_declare(w, "__metadata__", SA_F32, 1, shape, &err) == SA_EINVAL);
    float v[3] = {1, 2, 3};
    CHECK(sa_st_writer_write(w, v, 4, &err) == SA_OK);
    CHECK(sa_st_writer_declare(w, "b", SA_F32, 1, shape, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "after writing started");
    CHECK(sa_st_writer_finish(w, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "only 4 of 8 bytes");
    sa_st_writer_free(w);
    CHECK(sa_st_writer_create(dir, NULL, &w, &err) == SA_OK);
    CHECK(sa_st_writer_declare(w, "a", SA_F32, 1, shape, &err) == SA_OK);
    CHECK(sa_st_writer_write(w, v, 12, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "more bytes written than declared");
    sa_st_writer_free(w);
    free(dir);
}

static void test_f32_file(void) {
    char *path = tpath("logits.safetensors");
    float a[6] = {1.5f, -2, 0, 3e-41f, 1e30f, -0.0f}, b[1] = {42};
    sa_st_f32_tensor ts[2] = {{"logits", 2, {2, 3}, a}, {"x", 0, {0}, b}};
    const char *meta[] = {"prompt", "hi \"there\"\n", NULL};
    sa_error err;
    CHECK(sa_st_write_f32_file(path, ts, 2, meta, 0, &err) == SA_OK);
    CHECK(sa_st_write_f32_file(path, ts, 2, meta, 0, &err) == SA_EEXIST);
    CHECK(sa_st_write_f32_file(path, ts, 2, NULL, 1, &err) == SA_OK);
    sa_checkpoint *ck;
    CHECK_MSG(open_ck(path, &ck, &err) == SA_OK, "%s", err.msg);
    if (ck) {
        const sa_st_tensor *t = sa_ckpt_find(ck, "logits");
        float got[6];
        CHECK(t && sa_tensor_read_f32(t, got, &err) == SA_OK && !memcmp(got, a, sizeof a));
        t = sa_ckpt_find(ck, "x");
        CHECK(t && t->ndim == 0 && t->numel == 1 && sa_tensor_read_f32(t, got, &err) == SA_OK &&
              got[0] == 42);
        sa_ckpt_close(ck);
    }
    sa_st_f32_tensor dup[2] = {{"x", 0, {0}, b}, {"x", 0, {0}, b}};
    char *p2 = tpath("dup.safetensors");
    CHECK(sa_st_write_f32_file(p2, dup, 2, NULL, 0, &err) == SA_EINVAL);
    CHECK(access(p2, F_OK) != 0); /* nothing left behind */
    free(p2);
    free(path);
}

/* Misaligned data (odd header length), left/right whitespace padding, unsupported dtypes. */
static void test_misaligned_and_padding(void) {
    char *path = tpath("odd.safetensors");
    float vals[3] = {1.25f, -7, 65504};
    unsigned char data[13];
    data[0] = 9; /* one U8 first, so the F32 tensor starts at an odd address */
    memcpy(data + 1, vals, 12);
    char header[256] = "  {\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                       "\"f\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}} ";
    while ((8 + strlen(header) + 1) % 4 != 2) strcat(header, " "); /* F32 data at 2 mod 4 */
    write_raw(path, header, UINT64_MAX, data, sizeof data);
    sa_checkpoint *ck;
    sa_error err;
    CHECK_MSG(open_ck(path, &ck, &err) == SA_OK, "%s", err.msg);
    if (ck) {
        const sa_st_tensor *f = sa_ckpt_find(ck, "f"), *u = sa_ckpt_find(ck, "u");
        CHECK(f && !f->aligned && u && u->aligned);
        CHECK(sa_ckpt_tensor(ck, 0) == u); /* storage order is offset order */
        float got[3];
        sa_ckpt_prefetch(ck, f);
        CHECK(f && sa_tensor_read_f32(f, got, &err) == SA_OK && !memcmp(got, vals, 12));
        sa_ckpt_release(ck, f);
        CHECK(f && sa_tensor_read_f32(f, got, &err) == SA_OK && !memcmp(got, vals, 12));
        CHECK(sa_tensor_read_f32(u, got, &err) == SA_EUNSUPPORTED);
        CHECK_STR_CONTAINS(err.msg, "tensor 'u': dtype U8");
        CHECK_EQ_INT(sa_ckpt_metadata_count(ck), 0);
        sa_ckpt_close(ck);
    }
    free(path);
}

/* ---- malformed corpus ---- */

typedef struct bad_file {
    const char *header; /* NULL: raw bytes given by `raw` */
    uint64_t hlen;      /* UINT64_MAX: strlen(header) */
    size_t dlen;        /* data bytes appended (zeros) */
    const char *want;   /* expected message fragment */
} bad_file;

#define E(n, dt, sh, off)                                                                          \
    "\"" n "\":{\"dtype\":\"" dt "\",\"shape\":" sh ",\"data_offsets\":" off "}"
#define A UINT64_MAX

static const bad_file bad_files[] = {
    {"{}", 200000000ull, 0, "exceeds the limit"},
    {"{}", 64, 0, "runs past the end of the file"},
    {"{\"a\xff\":1}", A, 0, "not valid UTF-8 (byte 3)"},
    {"{\"ab\xc0\x80\":1}", A, 0, "not valid UTF-8 (byte 4)"}, /* overlong NUL */
    {"{\"a\":", A, 0, "not valid JSON"},
    {"{} x", A, 0, "non-whitespace bytes after the JSON object"},
    {"[1,2]", A, 0, "header is not a JSON object"},
    {"{\"t\":5}", A, 0, "tensor 't': entry is not an object"},
    {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", A, 4,
     "tensor 't': unexpected key 'x'"},
    {"{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", A, 4, "dtype is missing or not a string"},
    {"{" E("t", "F33", "[1]", "[0,4]") "}", A, 4, "unknown dtype 'F33'"},
    {"{" E("t", "F32", "5", "[0,4]") "}", A, 4, "shape is missing or not an array"},
    {"{" E("t", "F32", "[-1]", "[0,4]") "}", A, 4, "shape[0] is not a non-negative integer"},
    {"{" E("t", "F32", "[1,1.5]", "[0,4]") "}", A, 4, "shape[1] is not a non-negative integer"},
    {"{" E("t", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", A, 4, "9 dimensions (at most 8)"},
    {"{" E("t", "F32", "[1]", "[0]") "}", A, 4, "data_offsets must be [begin, end]"},
    {"{" E("t", "F32", "[1]", "[4,0]") "}", A, 4, "data_offsets end 0 < begin 4"},
    {"{" E("t", "F32", "[4294967296,4294967296]", "[0,4]") "}", A, 4, "element count overflows"},
    {"{" E("t", "F32", "[4503599627370496,2048]", "[0,4]") "}", A, 4, "byte size overflows"},
    {"{" E("t", "F4", "[3]", "[0,1]") "}", A, 1, "3 elements of F4 do not fill whole bytes"},
    {"{" E("t", "F32", "[2]", "[0,4]") "}", A, 4, "span 4 bytes but shape and dtype need 8"},
    {"{" E("t", "F32", "[1]", "[4,8]") "}", A, 8, "gap before its data (begins at 4"},
    {"{" E("a", "F32", "[2]", "[0,8]") "," E("b", "F32", "[1]", "[4,8]") "}", A, 8,
     "tensor 'b': data overlaps the previous tensor"},
    {"{" E("t", "F32", "[1]", "[0,4]") "}", A, 6,
     "data ends at byte 4 of the data buffer, but the file holds 6"},
    {"{" E("t", "F32", "[2]", "[0,8]") "}", A, 4,
     "data ends at byte 8 of the data buffer, but the file holds 4"},
    {"{\"__metadata__\":[1]}", A, 0, "__metadata__ is not a string-to-string map"},
    {"{\"__metadata__\":{\"k\":1}}", A, 0, "__metadata__ value of 'k' is not a string"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", A, 0, "__metadata__ appears twice"},
    {"{" E("t", "F32", "[1]", "[0,4]") "," E("t", "F32", "[1]", "[4,8]") "}", A, 8,
     "duplicate tensor name 't'"},
};
#define NBAD (sizeof bad_files / sizeof bad_files[0])

typedef struct bad_index {
    const char *index; /* model.safetensors.index.json text */
    const char *want;
} bad_index;

/* Shards s1 (tensors a, b) and s2 (tensor c) exist in every index case's directory. */
static const bad_index bad_indexes[] = {
    {"{\"weight_map\":", "index.json: line 1: not valid JSON"},
    {"{\"weight_map\":{\"a\":\"s1\xfe\"}}", "index.json: line 1: invalid UTF-8 (byte 0xFE"},
    {"{\"weight_map\":{}}\n\n{}", "index.json: line 3: text after the JSON value"},
    {"[]", "index is not a JSON object"},
    {"{\"metadata\":{}}", "index has no weight_map object"},
    {"{\"weight_map\":{}}", "index weight_map is empty"},
    {"{\"weight_map\":{\"a\":3}}", "weight_map entry 'a' is not a string"},
    {"{\"weight_map\":{\"a\":\"../s1\"}}", "names shard '../s1' outside the checkpoint directory"},
    {"{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "names shard '/etc/passwd' outside"},
    {"{\"weight_map\":{\"a\":\"s3\"}}", "s3: cannot open"},
    {"{\"weight_map\":{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\",\"d\":\"s2\"}}",
     "tensor 'd' is listed in the index but not stored in shard s2"},
    {"{\"weight_map\":{\"a\":\"s1\",\"b\":\"s2\",\"c\":\"s2\"}}",
     "tensor 'b' is listed under shard s2 but stored in s1"},
    {"{\"weight_map\":{\"a\":\"s1\",\"c\":\"s2\"}}",
     "tensor 'b' is stored in shard s1 but not listed in the index"},
    {"{\"weight_map\":{\"a\":\"s1\",\"b\":\"s1\",\"a\":\"s1\",\"c\":\"s2\"}}",
     "tensor 'a' is listed twice in the index"},
    {"{\"weight_map\":{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\",\"x\":\"bad\"}}",
     "bad: header is not a JSON object"},
    {"{\"weight_map\":{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\",\"x\":\"dupe\"}}",
     "duplicate tensor name 'a'"},
};
#define NBADIDX (sizeof bad_indexes / sizeof bad_indexes[0])

static char *messages[NBAD + NBADIDX + 4];
static size_t n_messages;

static void expect_fail(const char *path, const char *want) {
    sa_checkpoint *ck = NULL;
    sa_error err;
    sa_status s = open_ck(path, &ck, &err);
    CHECK_MSG(s != SA_OK && ck == NULL, "%s: accepted, expected '%s'", path, want);
    if (s == SA_OK) {
        sa_ckpt_close(ck);
        return;
    }
    CHECK_STR_CONTAINS(err.msg, want);
    if (mode == SA_CKPT_MMAP) messages[n_messages++] = strdup(err.msg);
}

static void test_bad_files(void) {
    char *path = tpath("bad.safetensors");
    unsigned char zeros[16] = {0};
    write_text(path, "abc");
    expect_fail(path, "too small for the 8-byte header length");
    for (size_t i = 0; i < NBAD; i++) {
        write_raw(path, bad_files[i].header, bad_files[i].hlen, zeros, bad_files[i].dlen);
        expect_fail(path, bad_files[i].want);
    }
    /* a NUL inside the header */
    FILE *f = fopen(path, "wb");
    fwrite("\x04\0\0\0\0\0\0\0{\0}\0", 1, 12, f);
    fclose(f);
    expect_fail(path, "header contains a NUL byte");
    free(path);
}

static void test_bad_indexes(void) {
    char *dir = tpath("idx");
    mkdir(dir, 0755);
    unsigned char zeros[16] = {0};
    char *p = sa_path_join(dir, "s1");
    write_raw(p, "{" E("a", "F32", "[1]", "[0,4]") "," E("b", "F32", "[1]", "[4,8]") "}", A, zeros,
              8);
    free(p);
    p = sa_path_join(dir, "s2");
    write_raw(p, "{" E("c", "F32", "[1]", "[0,4]") "}", A, zeros, 4);
    free(p);
    p = sa_path_join(dir, "bad");
    write_raw(p, "[]", A, zeros, 0);
    free(p);
    p = sa_path_join(dir, "dupe");
    write_raw(p, "{" E("a", "F32", "[1]", "[0,4]") "}", A, zeros, 4);
    free(p);
    expect_fail(dir, "no model.safetensors or model.safetensors.index.json");
    char *idx = sa_path_join(dir, "model.safetensors.index.json");
    for (size_t i = 0; i < NBADIDX; i++) {
        write_text(idx, bad_indexes[i].index);
        expect_fail(dir, bad_indexes[i].want);
    }
    /* and the good index opens, via the directory and via the file */
    write_text(idx, "{\"metadata\":{\"total_size\":12},\"weight_map\":{\"a\":\"s1\",\"b\":\"s1\","
                    "\"c\":\"s2\"}}");
    sa_checkpoint *ck;
    sa_error err;
    CHECK_MSG(open_ck(dir, &ck, &err) == SA_OK, "%s", err.msg);
    if (ck) {
        CHECK_EQ_INT(sa_ckpt_count(ck), 3);
        CHECK(!strcmp(sa_ckpt_tensor(ck, 2)->name, "c") && sa_ckpt_tensor(ck, 2)->shard == 1);
        sa_ckpt_close(ck);
    }
    CHECK_MSG(open_ck(idx, &ck, &err) == SA_OK, "%s", err.msg);
    sa_ckpt_close(ck);
    free(idx);
    free(dir);
}

/* SA_CKPT_READ holds its own copy: rewriting the file afterwards does not change the tensors. */
static void test_read_is_a_copy(void) {
    char *path = tpath("copy.safetensors");
    float one = 1.0f, two = 2.0f;
    const char *h = "{" E("a", "F32", "[1]", "[0,4]") "}";
    write_raw(path, h, UINT64_MAX, &one, 4);
    sa_checkpoint *ck = NULL;
    sa_error err;
    CHECK_MSG(open_ck(path, &ck, &err) == SA_OK, "%s", err.msg);
    if (!ck) return free(path);
    FILE *f = fopen(path, "r+b");
    fseek(f, -4, SEEK_END);
    fwrite(&two, 4, 1, f);
    fclose(f);
    float got;
    memcpy(&got, sa_ckpt_find(ck, "a")->data, 4);
    CHECK(got == 1.0f);
    sa_ckpt_close(ck);
    free(path);
}

static void test_messages_distinct(void) {
    int dup = 0;
    for (size_t i = 0; i < n_messages; i++)
        for (size_t j = i + 1; j < n_messages; j++)
            if (!strcmp(messages[i], messages[j])) {
                dup = 1;
                fprintf(stderr, "same message twice: %s\n", messages[i]);
            }
    CHECK(!dup);
    CHECK(n_messages == NBAD + NBADIDX + 3);
    for (size_t i = 0; i < n_messages; i++) free(messages[i]);
}

static void remove_tree(const char *p) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", p);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sa_test_st_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_round_trip();
    test_writer_misuse();
    test_f32_file();
    test_misaligned_and_padding();
    test_bad_files();
    test_bad_indexes();
    test_messages_distinct();
    mode = SA_CKPT_READ; /* the same checks with the shards read into memory */
    remove_tree(tmpdir);
    if (mkdir(tmpdir, 0700) != 0) return 1;
    test_round_trip();
    test_f32_file();
    test_misaligned_and_padding();
    test_bad_files();
    test_bad_indexes();
    test_read_is_a_copy();
    remove_tree(tmpdir);
    return CHECK_DONE();
}
