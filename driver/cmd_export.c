/* cmd_export.c - `dlc export MODEL --weights W.safetensors -o MODEL.onnx`:
 * writes a model and its weights as an ONNX file (codegen/onnx_export.h).
 *
 * The model is loaded in infer mode (the forward graph and its outputs);
 * the weights come from a checkpoint (`--weights`, e.g. what `PROG train
 * --save` wrote; read with the runtime's checked safetensors reader, so
 * every parameter must be there with its shape), or, without --weights,
 * are the parameters' initial values for --seed (the model's seed by
 * default), drawn exactly as the generated program draws them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/onnx_export.h"
#include "../frontend/frontend.h"
#include "../ir/interp.h"
#include "../runtime/rt_ckpt.h"
#include "args.h"
#include "commands.h"

static void help(void)
{
    printf("usage: dlc export MODEL [--weights FILE] [--seed N] -o OUT.onnx\n\n"
           "Writes MODEL's inference graph and weights as an ONNX model (opset 13).\n\n"
           "  -o OUT.onnx      the ONNX file to write\n"
           "  --weights FILE   parameter values (a safetensors checkpoint)\n"
           "  --seed N         without --weights: the initial values for seed N\n"
           "                   (default: the model's seed)\n");
}

/* Reads the params' values from a checkpoint into param_data[id]. */
static void read_weights(Arena *a, const Graph *g, const char *path, float **param_data)
{
    int np = 0;
    for (int i = 0; i < g->nnodes; i++) np += g->nodes[i]->op == OP_PARAM;
    dlrt_tensor *t = ARENA_NEW_N(a, dlrt_tensor, np > 0 ? np : 1);
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_PARAM) continue;
        if (n->type.dtype != DT_F32) dlc_error(SRCLOC_NONE, "param '%s' is not f32; only f32 models can be exported", n->name);
        memset(&t[k], 0, sizeof t[k]);
        t[k].name = n->name;
        t[k].dtype = DLRT_F32;
        t[k].rank = n->type.rank;
        for (int d = 0; d < n->type.rank; d++) t[k].dims[d] = n->type.dims[d];
        param_data[n->id] = ARENA_NEW_N(a, float, tt_numel(&n->type, 1) + 1);
        t[k++].data = param_data[n->id];
    }
    dlrt_err e;
    if (dlrt_st_read(path, t, np, NULL, NULL, &e) != 0) dlc_error(SRCLOC_NONE, "%s", e.msg);
}

/* The params' initial values for `seed`, from the reference interpreter
 * (which draws them as the runtime does). */
static void initial_weights(Arena *a, const Graph *g, uint64_t seed, float **param_data)
{
    Interp *it = interp_new(g, 1, seed);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_PARAM) continue;
        int64_t m = tt_numel(&n->type, 1);
        float *f = ARENA_NEW_N(a, float, m + 1);
        const double *v = interp_buf(it, n);
        for (int64_t j = 0; j < m; j++) f[j] = (float)v[j];
        param_data[n->id] = f;
    }
    interp_free(it);
}

int dlc_cmd_export(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "export", argc - 1, argv + 1);
    const char *model = NULL, *out = NULL, *wpath = NULL;
    int64_t seed = -1;
    while (args_more(&it) && !it.failed) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            help();
            return EXIT_OK;
        } else if (args_opt2(&it, "-o", "--output")) {
            out = it.value;
        } else if (args_opt(&it, "--weights")) {
            wpath = it.value;
        } else if (args_opt(&it, "--seed")) {
            args_int(&it, 0, INT64_MAX, &seed);
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (model) return args_usage_error(&it, "more than one model given ('%s' and '%s')", model, w);
            model = w;
        }
    }
    if (it.failed) return EXIT_USAGE;
    if (!model) return args_usage_error(&it, "no model file given");
    if (!out) return args_usage_error(&it, "no output file given (-o OUT.onnx)");
    if (wpath && seed >= 0) return args_usage_error(&it, "--seed and --weights exclude each other");
    Arena a;
    arena_init(&a);
    Graph *g = model_load(&a, model, MODE_INFER);
    float **param_data = ARENA_NEW_N(&a, float *, g->next_id + 1);
    memset(param_data, 0, sizeof *param_data * (size_t)(g->next_id + 1));
    if (wpath) read_weights(&a, g, wpath, param_data);
    else initial_weights(&a, g, (uint64_t)(seed >= 0 ? seed : g->train.seed >= 0 ? g->train.seed : 0), param_data);
    char *tmp = arena_printf(&a, "%s.tmp", out);
    FILE *f = fopen(tmp, "wb");
    if (!f) dlc_error(SRCLOC_NONE, "cannot write '%s': %s", out, strerror(errno));
    const char *err = onnx_export(f, g, (const float *const *)param_data);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (err || bad) {
        remove(tmp);
        if (err) dlc_error(SRCLOC_NONE, "%s: %s", model, err);
        dlc_error(SRCLOC_NONE, "error writing '%s'", out);
    }
    if (rename(tmp, out) != 0) {
        remove(tmp);
        dlc_error(SRCLOC_NONE, "cannot write '%s': %s", out, strerror(errno));
    }
    arena_free(&a);
    return EXIT_OK;
}
