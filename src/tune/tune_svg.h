/* tune_svg.h: the study's scatter charts (internal). */
#ifndef SA_TUNE_SVG_H
#define SA_TUNE_SVG_H

#include "eval/strbuf.h"

typedef struct sa_svg_point {
    double x, y;
    int kind; /* 0 dominated, 1 front, 2 chosen, 3 unmodified, 4 reference */
    const char *label;
} sa_svg_point;

void sa_tune_svg(sa_sbuf *b, const char *title, const char *xl, const char *yl,
                 const sa_svg_point *p, int n);

#endif
