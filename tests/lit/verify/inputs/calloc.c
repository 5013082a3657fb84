/* One violation: a call to calloc. */
#include <stddef.h>
void *calloc(size_t n, size_t size);
float *zeros(size_t n)
{
    return calloc(n, sizeof(float));
}
