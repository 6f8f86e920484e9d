/* version.c: the running library's version (version.h, configured from CMake's project version). */
#include "safearith/version.h"

const char *sa_version(void) {
    return SA_VERSION_STRING;
}

int sa_version_num(void) {
    return SA_VERSION_NUM;
}
