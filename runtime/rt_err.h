/* rt_err.h - private to the runtime: the error buffer its functions fill.
 *
 * Runtime functions never print and never exit: a failing function writes a
 * complete message (naming the file involved) into a dlrt_err and returns
 * -1 (or NULL).  dlrt_main prints the message with the program's name and
 * picks the exit status.  This keeps every reader testable.
 */
#ifndef DLRT_RT_ERR_H
#define DLRT_RT_ERR_H

#include <stddef.h>

typedef struct dlrt_err {
    char msg[1024];
} dlrt_err;

/* Formats the message into e (if e is not NULL); always returns -1. */
int dlrt_errf(dlrt_err *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
