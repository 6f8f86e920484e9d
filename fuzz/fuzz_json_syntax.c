/* fuzz_json_syntax.c: sa_json_syntax_ok (formats/json_syntax.c) must agree with cJSON on every
 * input: it is what tells "not JSON" from "cJSON ran out of memory" after a failed parse, so a
 * text cJSON refuses but the check accepts would be reported as out of memory, and the reverse
 * would call a good file invalid. */
#include <cjson/cJSON.h>

#include "formats/jsonl.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *v = cJSON_ParseWithLength((const char *)data, size);
    int accepted = v != NULL;
    cJSON_Delete(v);
    if (accepted != sa_json_syntax_ok((const char *)data, size)) abort();
    return 0;
}
