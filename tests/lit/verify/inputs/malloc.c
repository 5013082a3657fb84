/* One violation: a call to malloc (declared by hand, no <stdlib.h>). */
#include <stddef.h>
void *malloc(size_t size);
float *make_buffer(size_t n)
{
    return malloc(n * sizeof(float));
}
