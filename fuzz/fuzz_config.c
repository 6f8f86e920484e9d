/* fuzz_config.c: any text parsed as a model's config.json is refused with an error or gives a
 * configuration whose sizes the engine can allocate from without overflow. */
#include "fuzz_util.h"
#include "safearith/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fz_text(data, size);
    sa_model_config cfg;
    sa_error err;
    if (sa_model_config_parse(text, "config.json", &cfg, &err) == SA_OK) {
        if (cfg.hidden_size <= 0 || cfg.n_layers <= 0 || cfg.n_heads <= 0 || cfg.head_dim <= 0 ||
            cfg.n_kv_heads <= 0 || cfg.n_heads % cfg.n_kv_heads || cfg.vocab_size <= 0 ||
            cfg.intermediate_size <= 0)
            abort(); /* accepted a configuration no forward pass can run */
    } else if (!err.msg[0])
        abort(); /* an error without a message */
    free(text);
    return 0;
}
