/* stop_strings.c: where a response ends because of a stop string (sa_eval_decoding.stop).
 *
 * OpenAI-compatible servers end a generation when its text contains one of the request's stop
 * strings and return the text before the earliest occurrence. The harness applies the same cut
 * to every backend's response (the engine stops generating at the first occurrence, the stand-in
 * is cut after the fact, a server has cut already: cutting again changes nothing), so that rows
 * do not depend on where they were generated. */
#include <string.h>

#include "safearith/eval.h"

size_t sa_eval_stop_cut(const sa_eval_decoding *dec, const char *text) {
    size_t cut = strlen(text);
    for (int i = 0; i < dec->n_stop; i++) {
        const char *hit = dec->stop[i] && *dec->stop[i] ? strstr(text, dec->stop[i]) : NULL;
        if (hit && (size_t)(hit - text) < cut) cut = (size_t)(hit - text);
    }
    return cut;
}
