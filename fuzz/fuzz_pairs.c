/* fuzz_pairs.c: any text parsed as a safety-vector pairs file (JSONL) fails with an error naming
 * a line or gives pairs whose texts are all present and non-empty. */
#include "fuzz_util.h"
#include "safearith/steer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sa_pairs p;
    sa_error err;
    if (sa_pairs_parse((const char *)data, size, "pairs.jsonl", &p, &err) != SA_OK) return 0;
    for (size_t i = 0; i < p.n; i++)
        if (!p.items[i].positive || !p.items[i].negative || !p.items[i].positive[0] ||
            !p.items[i].negative[0] || (p.qa && !p.items[i].question))
            abort();
    sa_pairs_free(&p);
    return 0;
}
