/* build.c - `dlc emit` (write generated C) and `dlc build` (compile it).
 *
 * Both load the model (frontend/frontend.h), run the pipeline of the mode
 * (passes/pass.h) and call the C code generator (codegen/codegen.h).
 * `emit` writes NAME.c and NAME.h into a folder.  `build` writes them into
 * a fresh temporary folder (or --keep-source DIR) and runs the C compiler
 * there, with fork/execvp (no shell, so paths need no quoting):
 *
 *   CC -std=c99 -O2 -march=native -fno-math-errno -I<runtime> -I<cblas>
 *      NAME.c <libdlrt.a> <libopenblas> -lz -lm -pthread -o OUT
 *
 * (-pthread: the runtime's thread pool, runtime/threads.c.)
 *
 * -fno-math-errno: generated code never reads errno, and without it sqrtf
 * and friends keep their loops from being vectorized.  With GCC, also
 * -fvect-cost-model=dynamic: at -O2 GCC uses the "very cheap" model, which
 * vectorizes only loops whose trip count is known to be a multiple of the
 * vector width, i.e. none of those that run over the batch.  --openmp adds
 * -fopenmp: large fused loops carry `omp parallel for` pragmas
 * (codegen/c_fused.c), compiled out without it.  It is not the default:
 * libgomp's idle threads spin (unless OMP_WAIT_POLICY=passive is set
 * before the program starts) and take the cores the GEMMs' threads need;
 * on the 2-core development machine an epoch took 9 s instead of 1.9 s.
 *
 * The include and library paths are compile definitions of the dlc target
 * (CMakeLists.txt).  When dlc itself is built with AddressSanitizer, the
 * runtime library is instrumented too, so the program is linked with
 * -fsanitize=address,undefined.  The compiler's output is captured; if it
 * fails, that is dlc's bug (exit 3) and the output is shown.  Mistakes the
 * user can make - an -o path in a missing or unwritable folder, or that
 * is a folder; a --cc that cannot be run - are checked for and reported
 * as user errors (exit 1) instead.  The temporary folder is
 * $TMPDIR/dlc-build-XXXXXX (driver/toolchain.c), removed whatever the
 * outcome; --keep-source DIR keeps the generated source.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../codegen/codegen.h"
#include "../codegen/targets.h"
#include "../frontend/frontend.h"
#include "../passes/pass.h"
#include "args.h"
#include "build.h"
#include "onnx_weights.h"
#include "cmd_embed.h"
#include "build_cuda.h"
#include "toolchain.h"

#ifndef DLC_RUNTIME_INCLUDE
#define DLC_RUNTIME_INCLUDE "runtime"
#endif
#ifndef DLC_CBLAS_INCLUDE
#define DLC_CBLAS_INCLUDE "/usr/include"
#endif
#ifndef DLC_RUNTIME_LIB
#define DLC_RUNTIME_LIB "libdlrt.a"
#endif
#ifndef DLC_OPENBLAS_LIB
#define DLC_OPENBLAS_LIB "-lopenblas"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define DLC_BUILT_WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DLC_BUILT_WITH_ASAN 1
#endif
#endif

/* True if s is a C identifier (a --prefix names files and symbols). */
static bool is_identifier(const char *s)
{
    if (!*s || (!isalpha((unsigned char)*s) && *s != '_')) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return false;
    return true;
}

/* Options shared by emit and build. */
typedef struct BuildOpts {
    const char *model;
    GraphMode mode;
    int64_t max_batch;
    const char *prefix;
    bool no_blas;
    const TargetInfo *target; /* --target NAME (codegen/targets.h); default c */
    const char *arch;  /* --arch sm_XX (cuda): compiled in addition to sm_80, sm_90 */
} BuildOpts;

/* Parses the options both commands accept; returns true if it consumed the
 * current word. */
static bool common_opt(ArgIter *it, BuildOpts *b)
{
    if (args_opt(it, "--mode")) {
        if (strcmp(it->value, "train") == 0) b->mode = MODE_TRAIN;
        else if (strcmp(it->value, "infer") == 0) b->mode = MODE_INFER;
        else args_usage_error(it, "--mode must be 'train' or 'infer', not '%s'", it->value);
        return true;
    }
    if (args_opt(it, "--max-batch")) {
        args_int(it, 1, 1 << 24, &b->max_batch);
        return true;
    }
    if (args_opt(it, "--target")) {
        b->target = target_lookup(it->value);
        if (!b->target) args_usage_error(it, "unknown target '%s' (targets: %s)", it->value, target_names());
        return true;
    }
    if (args_opt(it, "--arch")) {
        b->arch = it->value;
        if (!dlc_cuda_arch_ok(b->arch)) args_usage_error(it, "--arch takes a GPU architecture such as sm_80, not '%s'", b->arch);
        return true;
    }
    return false;
}

/* Loads the model and runs the pipeline of its mode (user errors exit). */
static Graph *load_planned(Arena *a, const BuildOpts *b)
{
    Graph *g = model_load(a, b->model, b->mode);
    PassOptions po = {0};
    target_pass_options(b->target, g, b->max_batch, &po);
    pass_run_pipeline(g, &po, NULL);
    return g;
}

/* Writes DIR/PREFIX.c and .h for a planned graph; returns the file stem. */
static const char *write_sources(Arena *a, const Graph *g, const BuildOpts *b, const char *dir, bool with_main)
{
    CodegenOptions co = {b->target->target, b->prefix ? b->prefix : g->name, with_main, !b->no_blas};
    const char *stem = co.prefix;
    char *cpath = arena_printf(a, "%s/%s.%s", dir, stem, b->target->ext), *hpath = arena_printf(a, "%s/%s.h", dir, stem);
    FILE *c = fopen(cpath, "w");
    if (!c) dlc_error(SRCLOC_NONE, "cannot write '%s': %s", cpath, strerror(errno));
    FILE *h = fopen(hpath, "w");
    if (!h) {
        fclose(c);
        dlc_error(SRCLOC_NONE, "cannot write '%s': %s", hpath, strerror(errno));
    }
    b->target->emit(g, &co, c, h);
    bool bad = ferror(c) || ferror(h);
    if (fclose(c) != 0) bad = true;
    if (fclose(h) != 0) bad = true;
    if (bad) dlc_error(SRCLOC_NONE, "error writing '%s' or '%s'", cpath, hpath);
    return stem;
}

static void emit_help(void)
{
    printf("usage: dlc emit MODEL [--mode train|infer] [--target c|cuda] [-o DIR] [--prefix NAME]\n"
           "                [--max-batch N] [--no-blas]\n\n"
           "Writes the C code generated for MODEL: DIR/NAME.c and DIR/NAME.h\n"
           "(--target cuda: DIR/NAME.cu and DIR/NAME.h).\n\n"
           "  --mode MODE       infer (default): predict only; train: training steps too\n"
           "  --target T        c (default): C with OpenBLAS; cuda: CUDA with cuBLAS\n"
           "  -o DIR            folder to write into (default: .)\n"
           "  --prefix NAME     file stem and symbol prefix (default: the model name)\n"
           "  --max-batch N     largest batch the code accepts (default: the model's)\n"
           "  --no-blas         portable loops instead of cblas_sgemm\n"
           "embeddable inference code (infer mode; docs/embedded.md):\n"
           "  --embed-weights   the weights as const arrays in NAME.c (no heap, no runtime)\n"
           "  --weights-file    the weights in DIR/NAME.weights, handed over at run time\n"
           "  --weights FILE    their values, from a checkpoint (default: an .onnx model's own,\n"
           "                    else the initializers)\n"
           "  --no-verify       skip `dlc verify --embedded` on what is written\n"
           "  (--max-batch defaults to 1 there)\n");
}

int dlc_cmd_emit(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "emit", argc - 1, argv + 1);
    BuildOpts b = {.mode = MODE_INFER, .target = target_info(TARGET_C)};
    const char *dir = ".";
    EmbedRequest er = {0};
    bool embed = false;
    while (args_more(&it) && !it.failed) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            emit_help();
            return EXIT_OK;
        } else if (common_opt(&it, &b)) {
        } else if (args_opt2(&it, "-o", "--output")) {
            dir = it.value;
        } else if (args_opt(&it, "--prefix")) {
            b.prefix = it.value;
            if (!is_identifier(b.prefix))
                return args_usage_error(&it, "--prefix must be a C identifier, not '%s'", b.prefix);
        } else if (args_flag(&it, "--no-blas")) {
            b.no_blas = true;
        } else if (args_flag(&it, "--embed-weights")) {
            embed = true;
        } else if (args_flag(&it, "--weights-file")) {
            embed = er.weights_file = true;
        } else if (args_opt(&it, "--weights")) {
            er.weights = it.value;
        } else if (args_flag(&it, "--no-verify")) {
            er.no_verify = true;
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (b.model) return args_usage_error(&it, "more than one model given ('%s' and '%s')", b.model, w);
            b.model = w;
        }
    }
    if (it.failed) return EXIT_USAGE;
    if (!b.model) return args_usage_error(&it, "no model file given");
    if (!embed && (er.weights || er.no_verify))
        return args_usage_error(&it, "--weights and --no-verify go with --embed-weights or --weights-file");
    if (embed && b.mode != MODE_INFER) return args_usage_error(&it, "embeddable code is inference only (--mode infer)");
    /* -o out/ creates the folder (not its parents), as users of the
       design's `dlc emit ... -o out/` expect. */
    struct stat st;
    if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0)
        dlc_error(SRCLOC_NONE, "cannot create output folder '%s': %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        dlc_error(SRCLOC_NONE, "output path '%s' is not a folder", dir);
    if (embed) {
        er.model = b.model;
        er.dir = dir;
        er.prefix = b.prefix;
        er.max_batch = b.max_batch;
        er.no_blas = b.no_blas;
        return dlc_emit_embedded(&er);
    }
    Arena arena;
    arena_init(&arena);
    const char *stem = write_sources(&arena, load_planned(&arena, &b), &b, dir, false);
    if (is_onnx_path(b.model)) /* an imported model's initializers: DIR/NAME.safetensors */
        onnx_weights_sidecar(b.model, arena_printf(&arena, "%s/%s.safetensors", dir, stem));
    arena_free(&arena);
    return EXIT_OK;
}

/* True if the C compiler is GCC (its --version names the FSF): then the
 * vectorizer's cost model is raised from -O2's "very cheap", which skips
 * every loop whose trip count involves the run-time batch n. */
static bool compiler_is_gcc(const char *cc, const char *log)
{
    char *argv[] = {(char *)cc, "--version", NULL};
    if (dlc_run_logged(argv, log) != 0) return false;
    FILE *f = fopen(log, "r");
    if (!f) return false;
    char buf[4096];
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    buf[k] = '\0';
    fclose(f);
    return strstr(buf, "Free Software Foundation") != NULL && strstr(buf, "clang") == NULL;
}

/* Checks that the program can be written at `out` (-o): its folder exists
 * and is writable, and `out` is not a folder.  Done before anything is
 * compiled, so that the compiler's failure to write it is not mistaken
 * for a bug of dlc's (exit 3); a user error naming the path otherwise. */
static void check_output_path(Arena *a, const char *out)
{
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
        dlc_error(SRCLOC_NONE, "cannot write the program '%s': it is a folder", out);
    char *dir = arena_strdup(a, out);
    char *slash = strrchr(dir, '/');
    if (!slash) dir = ".";
    else if (slash == dir) dir = "/";
    else *slash = '\0';
    int err = 0;
    if (stat(dir, &st) != 0) err = errno;
    else if (!S_ISDIR(st.st_mode)) err = ENOTDIR;
    else if (access(dir, W_OK | X_OK) != 0) err = errno;
    if (err) dlc_error(SRCLOC_NONE, "cannot write the program '%s': folder '%s': %s", out, dir, strerror(err));
}

static void build_help(void)
{
    printf("usage: dlc build MODEL [-o OUT] [--mode train|infer] [-O LEVEL] [--max-batch N]\n"
           "                 [--keep-source DIR] [--cc CC] [--no-blas] [--target c|cuda] [--arch sm_XX]\n\n"
           "Compiles MODEL into an executable with train / eval / predict commands\n"
           "(run it with --help).\n\n"
           "  -o OUT             the executable (default: the model name, here)\n"
           "  --mode MODE        train (default): all commands; infer: predict only\n"
           "  -O LEVEL, -OLEVEL  C optimization level (default 2)\n"
           "  --max-batch N      largest batch the program accepts (default: the model's)\n"
           "  --keep-source DIR  write the generated .c/.h into DIR and keep them\n"
           "  --cc CC            the C compiler (default: $CC, else cc)\n"
           "  --no-blas          portable loops instead of cblas_sgemm\n"
           "  --openmp           compile the large fused loops' OpenMP pragmas (-fopenmp)\n"
           "  --target T         c (default): C with OpenBLAS, compiled by CC;\n"
           "                     cuda: CUDA with cuBLAS, compiled by nvcc (needs a GPU to run)\n"
           "  --arch sm_XX       cuda: also compile for this GPU (always: sm_80 and sm_90,\n"
           "                     and compute_90 PTX that newer GPUs compile at load)\n");
}

int dlc_cmd_build(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "build", argc - 1, argv + 1);
    BuildOpts b = {.mode = MODE_TRAIN, .target = target_info(TARGET_C)};
    const char *out = NULL, *keep = NULL, *cc = getenv("CC"), *olevel = "2";
    bool openmp = false;
    if (!cc || !*cc) cc = "cc";
    while (args_more(&it) && !it.failed) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            build_help();
            return EXIT_OK;
        } else if (common_opt(&it, &b)) {
        } else if (args_opt2(&it, "-o", "--output")) {
            out = it.value;
        } else if (strncmp(it.argv[it.i], "-O", 2) == 0 && it.argv[it.i][2]) {
            olevel = it.argv[it.i++] + 2; /* -O3 */
            if (strspn(olevel, "0123sgfast") != strlen(olevel))
                return args_usage_error(&it, "-O takes 0, 1, 2, 3, s, g or fast, not '%s'", olevel);
        } else if (args_opt(&it, "-O")) {
            olevel = it.value;
            if (strspn(olevel, "0123sgfast") != strlen(olevel) || !*olevel)
                return args_usage_error(&it, "-O takes 0, 1, 2, 3, s, g or fast, not '%s'", olevel);
        } else if (args_opt(&it, "--keep-source")) {
            keep = it.value;
        } else if (args_opt(&it, "--cc")) {
            cc = it.value;
        } else if (args_flag(&it, "--no-blas")) {
            b.no_blas = true;
        } else if (args_flag(&it, "--openmp")) {
            openmp = true;
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (b.model) return args_usage_error(&it, "more than one model given ('%s' and '%s')", b.model, w);
            b.model = w;
        }
    }
    if (it.failed) return EXIT_USAGE;
    if (!b.model) return args_usage_error(&it, "no model file given");

    Arena arena;
    arena_init(&arena);
    Graph *g = load_planned(&arena, &b); /* user errors before any folder is made */
    const char *stem = b.prefix ? b.prefix : g->name; /* as write_sources names the files */
    if (!out) out = stem;
    check_output_path(&arena, out);
    if (keep && mkdir(keep, 0755) != 0 && errno != EEXIST)
        dlc_error(SRCLOC_NONE, "cannot create '%s': %s", keep, strerror(errno));
    const char *tmp = dlc_scratch_dir(stem); /* removed at exit, whatever happens */
    const char *dir = keep ? keep : tmp;
    write_sources(&arena, g, &b, dir, true);
    if (b.target->toolchain == TOOLCHAIN_NVCC) {
        int crc = dlc_build_cuda(&arena, dir, stem, out, b.arch, tmp, keep != NULL);
        dlc_scratch_remove();
        arena_free(&arena);
        return crc;
    }

    char *src = arena_printf(&arena, "%s/%s.c", dir, stem);
    char *log = arena_printf(&arena, "%s/cc.log", tmp);
    char *opt = arena_printf(&arena, "-O%s", olevel);
    char *inc1 = arena_printf(&arena, "-I%s", DLC_RUNTIME_INCLUDE);
    char *inc2 = arena_printf(&arena, "-I%s", DLC_CBLAS_INCLUDE);
    char *inc3 = arena_printf(&arena, "-I%s", dir);
    char *cmd[24];
    int k = 0;
    cmd[k++] = (char *)cc;
    cmd[k++] = "-std=c99";
    cmd[k++] = opt;
    cmd[k++] = "-march=native";
    cmd[k++] = "-fno-math-errno";
    if (compiler_is_gcc(cc, log)) cmd[k++] = "-fvect-cost-model=dynamic";
    if (openmp) cmd[k++] = "-fopenmp"; /* the parallel fused loops (codegen/c_fused.c) */
#ifdef DLC_BUILT_WITH_ASAN
    cmd[k++] = "-fsanitize=address,undefined";
#endif
    cmd[k++] = inc3;
    cmd[k++] = inc1;
    cmd[k++] = inc2;
    cmd[k++] = src;
    cmd[k++] = DLC_RUNTIME_LIB;
    cmd[k++] = DLC_OPENBLAS_LIB;
    cmd[k++] = "-lz";
    cmd[k++] = "-lm";
    cmd[k++] = "-pthread";
    cmd[k++] = "-o";
    cmd[k++] = (char *)out;
    cmd[k] = NULL;
    int rc = dlc_run_logged(cmd, log);
    if (rc == 127) {
        /* a compiler that cannot be run is the user's choice (--cc, $CC) */
        FILE *f = fopen(log, "r");
        char line[512] = "";
        if (f) {
            if (!fgets(line, sizeof line, f)) line[0] = '\0';
            fclose(f);
        }
        if (strncmp(line, NO_EXEC, strlen(NO_EXEC)) == 0) {
            line[strcspn(line, "\n")] = '\0';
            dlc_error(SRCLOC_NONE, "cannot run the C compiler '%s' (%s); choose one with --cc or $CC", cc,
                      line + strlen(NO_EXEC));
        }
    }
    if (rc != 0) {
        fprintf(stderr, "dlc: internal error: the C compiler failed (status %d) on the generated code:\n ", rc);
        for (int i = 0; cmd[i]; i++) fprintf(stderr, " %s", cmd[i]);
        fprintf(stderr, "\n");
        dlc_show_file(log);
        if (!keep) fprintf(stderr, "(run it again with --keep-source DIR to keep the generated source)\n");
        dlc_scratch_remove();
        arena_free(&arena);
        return EXIT_ICE;
    }
    dlc_scratch_remove();
    if (is_onnx_path(b.model)) /* an imported model's initializers: OUT.safetensors */
        onnx_weights_sidecar(b.model, arena_printf(&arena, "%s.safetensors", out));
    arena_free(&arena);
    return EXIT_OK;
}
