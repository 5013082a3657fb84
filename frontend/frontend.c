/* frontend.c - model_load(): picks the frontend for a model file by its
 * extension (see frontend.h).  `.nn` files go through the model language
 * (nn_compile, lower.c); `.ir` files through the IR text reader; `.onnx`
 * files through the ONNX importer (onnx_import.c).
 */
#include "frontend.h"

#include <string.h>

#include "onnx.h"

/* True if path ends with ext (".nn"). */
static bool has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n > m && strcmp(path + n - m, ext) == 0;
}

Graph *model_load(Arena *a, const char *path, GraphMode mode) {
    if (has_ext(path, ".nn")) return nn_compile(a, srcfile_load(a, path), mode);
    if (has_ext(path, ".ir")) return ir_parse_text(a, srcfile_load(a, path));
    if (has_ext(path, ".onnx")) return onnx_import(a, path, mode, NULL);
    SrcFile *f = ARENA_NEW(a, SrcFile);
    f->name = arena_strdup(a, path);
    dlc_error((SrcLoc){f, 0, 0}, "unsupported model file extension (expected .nn, .ir or .onnx)");
}
