/* fuzz_diag.h - what the compiler harnesses (fuzz_nn.c, fuzz_onnx.c) do
 * with dlc's diagnostics.
 *
 * While an input is compiled, diagnostics go into a memory buffer, so the
 * harness can check the one user error it expects (that it names the
 * input file).  An internal error (DLC_ICE) exits with status 3, which
 * libFuzzer reports as a crash; an exit handler then prints the buffer to
 * stderr, so the crash report shows the internal error's message.
 */
#ifndef DLC_FUZZ_DIAG_H
#define DLC_FUZZ_DIAG_H

#include <stddef.h>

/* Starts capturing diagnostics (diag_set_stream) into a fresh buffer. */
void fuzz_diag_begin(void);
/* Stops capturing; returns the captured text (NUL-terminated, malloc'd:
 * the caller frees it) and its length in *len. */
char *fuzz_diag_end(size_t *len);
/* Aborts, printing the captured text, if it is not one user error whose
 * location starts with `file` ("FILE:LINE:COL: error: ..." or "FILE: error:
 * ..."): every user error names the file it is about. */
void fuzz_diag_expect_error(const char *msg, const char *file);

#endif
