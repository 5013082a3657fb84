/* cmd_embed.c - `dlc emit ... --embed-weights | --weights-file`: embeddable
 * inference code (codegen/embed.h), checked with libclang before it is
 * handed over.
 *
 * The model is loaded in infer mode and planned with external leaves (the
 * arena holds activations only) for --max-batch samples, 1 by default:
 * embedded callers usually classify one input at a time, and the batch
 * API runs larger batches in chunks.  The weights come from --weights (a
 * checkpoint, read by the runtime's reader); else, for an .onnx model,
 * from its initializers (written to DIR/NAME.safetensors first); else from
 * the parameters' initializers with the model's seed.  Unless --no-verify, the written unit is checked
 * with the embedded rules of `dlc verify` (codegen/cverify.h): dlc promises
 * that what it writes passes them, so a violation is an internal error,
 * reported with its location, the files left in place for a bug report.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/cverify.h"
#include "../codegen/embed.h"
#include "../codegen/targets.h"
#include "../frontend/frontend.h"
#include "../passes/pass.h"
#include "args.h"
#include "cmd_embed.h"
#include "onnx_weights.h"

static FILE *open_out(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f) dlc_error(SRCLOC_NONE, "cannot write '%s': %s", path, strerror(errno));
    return f;
}

/* Closes f; a failed write is the user's problem (a full disk, say). */
static void close_out(FILE *f, const char *path)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (bad) dlc_error(SRCLOC_NONE, "error writing '%s'", path);
}

int dlc_emit_embedded(const EmbedRequest *r)
{
    Arena arena;
    arena_init(&arena);
    Graph *g = model_load(&arena, r->model, MODE_INFER);
    PassOptions po = {0};
    /* the C target's passes (its fusion regions: GEMM epilogues in place,
       the smallest arena), with the leaves outside the arena */
    target_pass_options(target_info(TARGET_C), g, r->max_batch > 0 ? r->max_batch : 1, &po);
    po.external_leaves = true;
    pass_run_pipeline(g, &po, NULL);

    EmbedOptions eo = {r->prefix ? r->prefix : g->name, !r->no_blas, r->weights_file, NULL};
    const char *stem = eo.prefix;
    const char *weights = r->weights;
    if (!weights && is_onnx_path(r->model)) {
        /* an imported model's own initializers, written next to the sources
           as `dlc emit MODEL.onnx` does, then read back like any checkpoint */
        weights = arena_printf(&arena, "%s/%s.safetensors", r->dir, stem);
        onnx_weights_sidecar(r->model, weights);
    }
    eo.w = weights ? weights_load(g, weights) : weights_init(g, g->train.seed > 0 ? g->train.seed : 0);

    char *cpath = arena_printf(&arena, "%s/%s.c", r->dir, stem);
    char *hpath = arena_printf(&arena, "%s/%s.h", r->dir, stem);
    char *wpath = arena_printf(&arena, "%s/%s.weights", r->dir, stem);
    FILE *c = open_out(cpath, "w"), *h = open_out(hpath, "w"), *w = r->weights_file ? open_out(wpath, "wb") : NULL;
    codegen_emit_embed(g, &eo, c, h, w);
    close_out(c, cpath);
    close_out(h, hpath);
    if (w) close_out(w, wpath);

    int status = EXIT_OK;
    if (!r->no_verify) {
        char *report = NULL;
        size_t len = 0;
        FILE *rep = open_memstream(&report, &len);
        if (!rep) DLC_ICE("open_memstream: %s", strerror(errno));
        CVerifyOptions vo = {0};
        vo.embedded = true;
        vo.no_blas = r->no_blas;
        int bad = cverify_file(cpath, &vo, rep);
        fclose(rep);
        if (bad != 0) {
            fprintf(stderr,
                    "dlc: internal error: the generated code breaks the rules of `dlc verify --embedded`%s:\n%s"
                    "(the files are kept in %s)\n",
                    bad < 0 ? " (it could not be checked)" : "", report ? report : "", r->dir);
            status = EXIT_ICE;
        }
        free(report);
    }
    arena_free(&arena);
    return status;
}
