/* yaml_json.h: a YAML document as a cJSON tree (internal to src/tune).
 *
 * Mappings become objects (string keys only, duplicates refused), sequences arrays; a plain
 * (unquoted) scalar that reads fully as a finite number becomes a number, true/false a boolean,
 * null/~ null; everything else, and every quoted scalar, a string. Aliases are expanded by
 * libyaml. Malformed YAML is refused with the file and line. */
#ifndef SA_TUNE_YAML_JSON_H
#define SA_TUNE_YAML_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "safearith/error.h"

sa_status sa_yaml_to_json(const char *text, size_t len, const char *path, cJSON **out,
                          sa_error *err);

#endif
