/* err.c - formatting of the runtime's error messages (see rt_err.h). */
#include <stdarg.h>
#include <stdio.h>

#include "rt_err.h"

int dlrt_errf(dlrt_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
