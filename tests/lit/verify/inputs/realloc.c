/* One violation: a call to realloc. */
#include <stddef.h>
void *realloc(void *p, size_t size);
float *grow(float *p, size_t n)
{
    return realloc(p, n * sizeof *p);
}
