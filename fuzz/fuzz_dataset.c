/* fuzz_dataset.c: any file loaded as an evaluation dataset fails with an error or gives items
 * with text. The first byte picks the file name: .csv, .jsonl, .json or .txt (one prompt a line).
 */
#include "fuzz_util.h"
#include "safearith/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    static const char *const names[] = {"data.csv", "data.jsonl", "data.json", "data.txt"};
    const char *path = fz_write(names[data[0] & 3], data + 1, size - 1);
    sa_eval_dataset_spec spec;
    sa_eval_dataset ds;
    sa_error err;
    if (sa_eval_dataset_spec_parse(path, &spec, &err) != SA_OK) abort();
    if (sa_eval_dataset_load(&spec, &ds, &err) == SA_OK) {
        for (size_t i = 0; i < ds.n_items; i++)
            if (!ds.items[i].text) abort();
        if (sa_eval_dataset_select(&ds, 3, 2, 1, &err) != SA_OK && ds.n_items) abort();
        sa_eval_dataset_free(&ds);
    } else if (!err.msg[0])
        abort();
    sa_eval_dataset_spec_free(&spec);
    return 0;
}
