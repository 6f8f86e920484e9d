/* tune_svg.c: one scatter chart of the study: every unpruned trial at (x, y), dominated trials
 * faint, the front highlighted, the chosen point ringed, the unmodified model and the reference
 * drawn as their own marks. Plain SVG, hover titles give the trial and its values. */
#include <math.h>
#include <stdio.h>

#include "tune/tune_svg.h"

#define W 560
#define H 400
#define ML 64
#define MR 16
#define MT 36
#define MB 48

static void range(const sa_svg_point *p, int n, int axis, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v = axis ? p[i].y : p[i].x;
        if (isfinite(v)) *lo = v < *lo ? v : *lo, *hi = v > *hi ? v : *hi;
    }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    double pad = (*hi - *lo) * 0.06;
    if (pad <= 0) pad = *hi > 0 ? *hi * 0.1 : 1;
    *lo -= pad, *hi += pad;
}

void sa_tune_svg(sa_sbuf *b, const char *title, const char *xl, const char *yl,
                 const sa_svg_point *p, int n) {
    double x0, x1, y0, y1;
    range(p, n, 0, &x0, &x1), range(p, n, 1, &y0, &y1);
    sa_sbuf_printf(b,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
                   "height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"20\" font-size=\"14\">",
                   W, H, ML);
    sa_sbuf_xml(b, title);
    sa_sbuf_printf(b,
                   "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                   "stroke=\"#888\"/>\n",
                   ML, MT, W - ML - MR, H - MT - MB);
    for (int t = 0; t <= 4; t++) { /* ticks */
        double fx = x0 + (x1 - x0) * t / 4, fy = y0 + (y1 - y0) * t / 4;
        double px = ML + (W - ML - MR) * t / 4.0, py = H - MB - (H - MT - MB) * t / 4.0;
        sa_sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n", px,
                       H - MB + 16, fx);
        sa_sbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", ML - 6,
                       py + 4, fy);
    }
    sa_sbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (W + ML - MR) / 2, H - 10);
    sa_sbuf_xml(b, xl);
    sa_sbuf_printf(b,
                   "</text>\n<text transform=\"translate(14,%d) rotate(-90)\" "
                   "text-anchor=\"middle\">",
                   (H + MT - MB) / 2);
    sa_sbuf_xml(b, yl);
    sa_sbuf_printf(b, "</text>\n");
    static const char *const style[] = {
        "r=\"4\" fill=\"#bbb\" fill-opacity=\"0.5\"",                    /* dominated */
        "r=\"5\" fill=\"#1f5fbf\"",                                      /* front */
        "r=\"9\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"", /* chosen (ring) */
        "r=\"6\" fill=\"black\"",                                        /* unmodified */
        "r=\"6\" fill=\"#ff7f0e\"",                                      /* reference */
    };
    for (int pass = 0; pass < 5; pass++) /* draw order: faint first, marks on top */
        for (int i = 0; i < n; i++) {
            if (p[i].kind != pass || !isfinite(p[i].x) || !isfinite(p[i].y)) continue;
            double px = ML + (p[i].x - x0) / (x1 - x0) * (W - ML - MR);
            double py = H - MB - (p[i].y - y0) / (y1 - y0) * (H - MT - MB);
            sa_sbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" %s><title>", px, py, style[pass]);
            sa_sbuf_xml(b, p[i].label);
            sa_sbuf_printf(b, ": %.4g, %.4g</title></circle>\n", p[i].x, p[i].y);
        }
    sa_sbuf_printf(b,
                   "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">grey: dominated, "
                   "blue: front, red ring: chosen, black: unmodified, orange: reference"
                   "</text>\n</svg>\n",
                   ML, MT - 4);
}
