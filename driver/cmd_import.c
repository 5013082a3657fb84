/* cmd_import.c - `dlc import MODEL.onnx -o MODEL.nn`: converts an ONNX
 * model into readable .nn text plus its weights.
 *
 * The importer (frontend/onnx.h) builds the inference graph; nn_write
 * prints it as tensor-level .nn statements whose params have `zeros()`
 * initializers, and the initializers' values go to a safetensors file next
 * to the .nn (OUT with .safetensors for .nn, or --weights FILE), which the
 * compiled program loads with `--weights`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "onnx_weights.h"

static void help(void)
{
    printf("usage: dlc import MODEL.onnx [-o OUT.nn] [--weights FILE]\n\n"
           "Converts an ONNX model (opsets 9 to 17, inference) into .nn text and a\n"
           "safetensors file with its initializers.\n\n"
           "  -o OUT.nn        the .nn file (default: MODEL with .nn, here)\n"
           "  --weights FILE   where the weights go (default: OUT with .safetensors)\n");
}

/* `dir/name.ext` -> `name` + suffix (in the current folder), or the path
 * with its extension replaced when keep_dir. */
static char *swap_ext(Arena *a, const char *path, const char *ext, bool keep_dir)
{
    const char *base = keep_dir ? path : (strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return arena_printf(a, "%.*s%s", (int)n, base, ext);
}

int dlc_cmd_import(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "import", argc - 1, argv + 1);
    const char *model = NULL, *out = NULL, *wpath = NULL;
    while (args_more(&it) && !it.failed) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            help();
            return EXIT_OK;
        } else if (args_opt2(&it, "-o", "--output")) {
            out = it.value;
        } else if (args_opt(&it, "--weights")) {
            wpath = it.value;
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (model) return args_usage_error(&it, "more than one model given ('%s' and '%s')", model, w);
            model = w;
        }
    }
    if (it.failed) return EXIT_USAGE;
    if (!model) return args_usage_error(&it, "no model file given");
    if (!is_onnx_path(model)) return args_usage_error(&it, "'%s' is not an .onnx file", model);
    Arena a;
    arena_init(&a);
    if (!out) out = swap_ext(&a, model, ".nn", false);
    if (!wpath) wpath = swap_ext(&a, out, ".safetensors", true);
    OnnxWeights w;
    Graph *g = onnx_import(&a, model, MODE_INFER, &w);
    FILE *f = fopen(out, "w");
    if (!f) dlc_error(SRCLOC_NONE, "cannot write '%s': %s", out, strerror(errno));
    const char *base = strrchr(model, '/');
    const char *err = nn_write(f, g, arena_printf(&a, "imported from %s by dlc import; weights: %s", base ? base + 1 : model,
                                                   strrchr(wpath, '/') ? strrchr(wpath, '/') + 1 : wpath));
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (err) {
        remove(out);
        dlc_error(SRCLOC_NONE, "%s: %s", model, err);
    }
    if (bad) dlc_error(SRCLOC_NONE, "error writing '%s'", out);
    onnx_weights_save(&w, wpath);
    arena_free(&a);
    return EXIT_OK;
}
