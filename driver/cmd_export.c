/* cmd_export.c - `dlc export MODEL --weights W.safetensors -o MODEL.onnx`:
 * writes a model and its weights as an ONNX file (codegen/onnx_export.h).
 *
 * The model is loaded in infer mode (the forward graph and its outputs);
 * the weights come from a checkpoint (`--weights`, e.g. what `PROG train
 * --save` wrote; read by codegen/weights.c as `dlc emit` reads it, with the
 * runtime's checked safetensors reader: every parameter must be there with
 * its shape, and a checkpoint whose metadata names another model is
 * refused), or, without --weights, are the parameters' initial values for
 * --seed (the model's seed by default), drawn exactly as the generated
 * program draws them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/onnx_export.h"
#include "../codegen/weights.h"
#include "../frontend/frontend.h"
#include "args.h"
#include "commands.h"

static void help(void)
{
    printf("usage: dlc export MODEL [--weights FILE] [--seed N] -o OUT.onnx\n\n"
           "Writes MODEL's inference graph and weights as an ONNX model (opset 13):\n"
           "what the outputs need, not what only the loss or a metric reads.\n\n"
           "  -o OUT.onnx      the ONNX file to write\n"
           "  --weights FILE   parameter values (a safetensors checkpoint of MODEL)\n"
           "  --seed N         without --weights: the initial values for seed N\n"
           "                   (default: the model's seed)\n");
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
    /* weights_load is emit's reader: it refuses a checkpoint of another
       model (the metadata's name), as the generated programs do */
    Weights *w = wpath ? weights_load(g, wpath)
                       : weights_init(g, (uint64_t)(seed >= 0 ? seed : g->train.seed >= 0 ? g->train.seed : 0));
    float **param_data = ARENA_NEW_N(&a, float *, g->next_id + 1);
    memset(param_data, 0, sizeof *param_data * (size_t)(g->next_id + 1));
    for (int i = 0; i < w->n; i++) param_data[w->leaf[i]->id] = w->data[i];
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
