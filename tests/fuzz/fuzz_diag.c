/* fuzz_diag.c - capturing dlc's diagnostics in the compiler harnesses
 * (see fuzz_diag.h). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "fuzz_diag.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/diag.h"

static FILE *capture;      /* the memory stream, while capturing */
static char *capture_buf;  /* its buffer and length, updated by fflush */
static size_t capture_len;

/* At exit (an internal error's exit(3)), shows what was captured. */
static void print_capture(void)
{
    if (!capture) return;
    fflush(capture);
    fputs("fuzz: diagnostics of the input being compiled:\n", stderr);
    fwrite(capture_buf, 1, capture_len, stderr);
}

void fuzz_diag_begin(void)
{
    static bool registered;
    if (!registered) {
        atexit(print_capture);
        registered = true;
    }
    capture_buf = NULL;
    capture_len = 0;
    capture = open_memstream(&capture_buf, &capture_len);
    if (!capture) abort();
    diag_set_stream(capture);
}

char *fuzz_diag_end(size_t *len)
{
    diag_set_stream(NULL);
    fclose(capture);
    capture = NULL;
    *len = capture_len;
    return capture_buf;
}

void fuzz_diag_expect_error(const char *msg, const char *file)
{
    size_t n = strlen(file);
    if (strncmp(msg, file, n) == 0 && (msg[n] == ':')) return;
    fprintf(stderr, "fuzz: an error does not name the input file '%s':\n%s", file, msg);
    abort();
}
