/* onnx_weights.c - writes imported ONNX initializers as a safetensors
 * checkpoint with the runtime's own writer (dlrt_st_write: atomic, the
 * format generated programs read with --weights).  See onnx_weights.h.
 */
#include <string.h>

#include "../runtime/rt_ckpt.h"
#include "onnx_weights.h"

bool is_onnx_path(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && strcmp(path + n - 5, ".onnx") == 0;
}

void onnx_weights_save(const OnnxWeights *w, const char *path)
{
    Arena a;
    arena_init(&a);
    dlrt_tensor *t = ARENA_NEW_N(&a, dlrt_tensor, w->n > 0 ? w->n : 1);
    for (int i = 0; i < w->n; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].name = w->w[i].name;
        t[i].dtype = DLRT_F32;
        t[i].rank = w->w[i].type.rank;
        for (int d = 0; d < t[i].rank; d++) t[i].dims[d] = w->w[i].type.dims[d];
        t[i].data = (void *)w->w[i].data;
    }
    const char *meta[] = {"format", "dlc-1", "source", "onnx"};
    dlrt_err e;
    int rc = dlrt_st_write(path, t, w->n, meta, 2, &e);
    arena_free(&a);
    if (rc != 0) dlc_error(SRCLOC_NONE, "%s", e.msg);
}

void onnx_weights_sidecar(const char *model, const char *path)
{
    Arena a;
    arena_init(&a);
    OnnxWeights w;
    onnx_import(&a, model, MODE_INFER, &w);
    onnx_weights_save(&w, path);
    arena_free(&a);
}
