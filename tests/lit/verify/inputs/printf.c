/* stdio: the include and the call are both reported. */
#include <stdio.h>
void report(float loss)
{
    printf("loss %g\n", loss);
}
