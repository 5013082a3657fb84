/* One violation: <stdlib.h> is not allowed. */
#include <stdint.h>
#include <stdlib.h>
int32_t absolute(int32_t x)
{
    return x < 0 ? -x : x;
}
