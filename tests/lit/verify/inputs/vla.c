/* One violation: a variable-length array on the stack. */
#include <stddef.h>
float sum(const float *x, size_t n)
{
    float tmp[n];
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) s += tmp[i] = x[i];
    return s;
}
