/* safearith.h: the whole public API of libsafearith, for programs that want all of it.
 * Layers (each header documents its own calls): errors and progress, files and formats,
 * tensor math, weight arithmetic, model and tokenizer, steering, evaluation. */
#ifndef SAFEARITH_H
#define SAFEARITH_H

#include "safearith/version.h"
#include "safearith/error.h"
#include "safearith/parse.h"
#include "safearith/progress.h"
#include "safearith/threads.h"
#include "safearith/kset.h"
#include "safearith/dtype.h"
#include "safearith/safetensors.h"
#include "safearith/arith.h"
#include "safearith/model.h"
#include "safearith/tokenizer.h"
#include "safearith/gguf.h"
#include "safearith/provenance.h"
#include "safearith/gguf_export.h"
#include "safearith/steer.h"
#include "safearith/eval.h"
#include "safearith/paired.h"
#include "safearith/tune.h"

#endif
