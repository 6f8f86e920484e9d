/* fuzz_template.c: any text offered as a Jinja chat_template is recognised as one of the known
 * families or refused with a message, without fault. */
#include "fuzz_util.h"
#include "safearith/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fz_text(data, size);
    sa_chat_family f;
    sa_error err;
    if (sa_chat_family_detect(text, &f, &err) == SA_OK) {
        if (f < 0 || f >= SA_CHAT_N_FAMILIES || !sa_chat_family_name(f)) abort();
    } else if (!err.msg[0])
        abort();
    free(text);
    return 0;
}
