/* metrics.c - running averages of the loss and metrics over an epoch or an
 * evaluation, each batch weighted by its size n (the last batch of an
 * epoch may be partial; the entry points report batch means). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_data.h"

int dlrt_avg_init(dlrt_avg *a, int nmetrics)
{
    memset(a, 0, sizeof *a);
    a->nmetrics = nmetrics;
    a->metrics = calloc((size_t)(nmetrics > 0 ? nmetrics : 1), sizeof(double));
    return a->metrics ? 0 : -1;
}

void dlrt_avg_reset(dlrt_avg *a)
{
    a->weight = a->loss = 0;
    for (int k = 0; k < a->nmetrics; k++) a->metrics[k] = 0;
}

void dlrt_avg_add(dlrt_avg *a, int64_t n, float loss, const float *metrics)
{
    a->weight += (double)n;
    a->loss += (double)n * (double)loss;
    for (int k = 0; k < a->nmetrics; k++) a->metrics[k] += (double)n * (double)metrics[k];
}

void dlrt_avg_get(const dlrt_avg *a, double *loss, double *metrics)
{
    double w = a->weight;
    *loss = w > 0 ? a->loss / w : NAN;
    for (int k = 0; k < a->nmetrics; k++) metrics[k] = w > 0 ? a->metrics[k] / w : NAN;
}

void dlrt_avg_free(dlrt_avg *a)
{
    free(a->metrics);
    a->metrics = NULL;
}
