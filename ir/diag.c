/* diag.c - user errors with a source excerpt, and internal errors.
 *
 * A located message prints as
 *
 *     model.nn:9:9: error: cannot broadcast f32[N,784] and f32[512]
 *     h = x + b
 *             ^
 *
 * The echoed line is sanitised so that a terminal shows exactly one cell per
 * character: bytes that are not printable ASCII or part of a valid UTF-8
 * sequence are shown as '?', tabs are kept (and copied into the caret line
 * so the caret stays aligned).  A line longer than DIAG_WINDOW characters is
 * cut to a window around the column, with "..." marking the cut ends.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DIAG_WINDOW 100 /* longest excerpt echoed, in bytes of the line */

static FILE *diag_stream;
static jmp_buf *diag_recover;

void diag_set_stream(FILE *f) { diag_stream = f; }
void diag_set_recover(jmp_buf *j) { diag_recover = j; }

static FILE *out_stream(void) { return diag_stream ? diag_stream : stderr; }

void srcloc_format(SrcLoc loc, char *buf, size_t len) {
    if (!len) return;
    const char *name = loc.file && loc.file->name ? loc.file->name : NULL;
    if (!name)
        buf[0] = '\0';
    else if (loc.line <= 0)
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%s:%d:%d", name, loc.line, loc.col);
}

/* Length of the valid UTF-8 sequence starting at s[0] (at most `avail`
 * bytes), or 0 if it is not one.  Rejects overlong forms and surrogates. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3;
    else if (c >= 0xF0 && c <= 0xF4) n = 4;
    else return 0;
    if (n > avail) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && s[1] > 0x9F) return 0; /* surrogate */
    if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (c == 0xF4 && s[1] > 0x8F) return 0; /* > U+10FFFF */
    return n;
}

/* Writes bytes [from, to) of a line to f as one cell per character.  If
 * `caret` is non-NULL, also appends to it the padding that puts a caret
 * under byte `col0` (tabs copied, one space per other character). */
static void echo_span(FILE *f, const unsigned char *line, size_t from, size_t to, size_t col0, char *caret,
                      size_t *caret_len) {
    size_t i = from;
    while (i < to) {
        unsigned c = line[i];
        size_t n = 1;
        bool before = i < col0;
        if (c == '\t') {
            fputc('\t', f);
            if (before) caret[(*caret_len)++] = '\t';
        } else if (c >= 0x20 && c < 0x7F) {
            fputc((int)c, f);
            if (before) caret[(*caret_len)++] = ' ';
        } else if (c >= 0x80 && (n = utf8_seq_len(line + i, to - i)) > 0) {
            fwrite(line + i, 1, n, f);
            if (before) caret[(*caret_len)++] = ' ';
        } else {
            n = 1;
            fputc('?', f);
            if (before) caret[(*caret_len)++] = ' ';
        }
        i += n;
    }
}

/* Prints the source line of `loc` and a caret under its column. */
static void print_excerpt(FILE *f, SrcLoc loc) {
    const SrcFile *file = loc.file;
    if (!file || !file->text || loc.line <= 0) return;
    const unsigned char *text = (const unsigned char *)file->text;
    size_t len = file->len, pos = 0;
    for (int line = 1; line < loc.line; line++) {
        const unsigned char *nl = pos < len ? memchr(text + pos, '\n', len - pos) : NULL;
        if (!nl) return; /* no such line */
        pos = (size_t)(nl - text) + 1;
    }
    if (pos > len) return;
    const unsigned char *start = text + pos;
    const unsigned char *nl = pos < len ? memchr(start, '\n', len - pos) : NULL;
    size_t linelen = nl ? (size_t)(nl - start) : len - pos;
    if (linelen && start[linelen - 1] == '\r') linelen--;
    size_t col0 = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col0 > linelen) col0 = linelen;

    size_t from = 0, to = linelen;
    if (linelen > DIAG_WINDOW) {
        size_t half = DIAG_WINDOW / 2;
        from = col0 > half ? col0 - half : 0;
        to = from + DIAG_WINDOW;
        if (to > linelen) {
            to = linelen;
            from = to - DIAG_WINDOW;
        }
    }
    /* caret padding: at most one char per byte in the window, plus "..." */
    char caret[DIAG_WINDOW + 8];
    size_t clen = 0;
    if (from > 0) {
        fputs("...", f);
        memcpy(caret, "   ", 3);
        clen = 3;
    }
    echo_span(f, start, from, to, col0, caret, &clen);
    if (to < linelen) fputs("...", f);
    fputc('\n', f);
    fwrite(caret, 1, clen, f);
    fputs("^\n", f);
}

/* Prints "loc: kind: message" and the excerpt. */
static void report(SrcLoc loc, const char *kind, const char *fmt, va_list ap) {
    FILE *f = out_stream();
    char where[512];
    srcloc_format(loc, where, sizeof where);
    fprintf(f, "%s: %s: ", where[0] ? where : "dlc", kind);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    print_excerpt(f, loc);
    fflush(f);
}

void dlc_error(SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(loc, "error", fmt, ap);
    va_end(ap);
    if (diag_recover) longjmp(*diag_recover, 1);
    exit(1);
}

void dlc_warning(SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(loc, "warning", fmt, ap);
    va_end(ap);
}

void dlc_note(SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(loc, "note", fmt, ap);
    va_end(ap);
}

void dlc_ice_at(const char *file, int line, const char *fmt, ...) {
    FILE *f = out_stream();
    va_list ap;
    fprintf(f, "dlc: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
    exit(3);
}
