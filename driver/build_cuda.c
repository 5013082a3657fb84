/* build_cuda.c - `dlc build --target cuda`: compiles generated CUDA source.
 *
 * build.c writes NAME.cu and NAME.h (codegen/emit_cuda.c) into a folder;
 * this runs nvcc on them, with fork/execvp (no shell), in two steps:
 *
 *   nvcc -std=c++17 -O3 -gencode arch=compute_80,code=sm_80
 *        -gencode arch=compute_90,code=sm_90
 *        -gencode arch=compute_90,code=compute_90 [-gencode ...sm_XX for --arch]
 *        -Xcompiler -Wall,-Wextra -Werror all-warnings
 *        -I<runtime> -I<dir> -c NAME.cu -o NAME.o
 *   c++ NAME.o <libdlrt.a> -L<cuda>/lib64 -Wl,-rpath,<cuda>/lib64 -lcublas
 *       -lcudart_static -ldl -lpthread -lrt -lz -lm -o OUT [-fsanitize=...]
 *
 * The fat binary holds SASS for sm_80 and sm_90 (and --arch) and the
 * compute_90 PTX, which the driver JIT-compiles on a newer GPU (sm_100,
 * sm_120, ...) that none of the SASS runs on.
 *
 * Warnings are errors: the generated code is meant to compile cleanly, so
 * any warning is dlc's bug (exit 3, the output shown; --keep-source DIR
 * keeps the source).
 * When dlc is built with AddressSanitizer its libdlrt is instrumented, so
 * the link adds -fsanitize=address,undefined and the program tells ASan
 * not to guard the shadow gap the CUDA driver maps.  nvcc is
 * $DLC_NVCC, else /usr/local/cuda/bin/nvcc if it exists, else `nvcc`.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ir/arena.h"
#include "../ir/diag.h"
#include "args.h"
#include "build_cuda.h"
#include "toolchain.h"

#ifndef DLC_RUNTIME_INCLUDE
#define DLC_RUNTIME_INCLUDE "runtime"
#endif
#ifndef DLC_RUNTIME_LIB
#define DLC_RUNTIME_LIB "libdlrt.a"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define DLC_CUDA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DLC_CUDA_ASAN 1
#endif
#endif

const char *dlc_nvcc_path(void)
{
    const char *env = getenv("DLC_NVCC");
    if (env && *env) return env;
    if (access("/usr/local/cuda/bin/nvcc", X_OK) == 0) return "/usr/local/cuda/bin/nvcc";
    return "nvcc";
}

bool dlc_cuda_arch_ok(const char *arch)
{
    if (strncmp(arch, "sm_", 3) != 0 || !arch[3]) return false;
    for (const char *s = arch + 3; *s; s++)
        if (!(*s >= '0' && *s <= '9') && !(s[1] == '\0' && (*s == 'a' || *s == 'f'))) return false;
    return true;
}

/* Runs one nvcc step; on failure reports it (the command, nvcc's output)
 * and returns the exit status dlc should end with. */
static int step(char **cmd, const char *log, bool kept)
{
    int rc = dlc_run_logged(cmd, log);
    if (rc == 0) return EXIT_OK;
    FILE *f = fopen(log, "r");
    char line[512] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    if (rc == 127 && strncmp(line, NO_EXEC, strlen(NO_EXEC)) == 0) {
        line[strcspn(line, "\n")] = '\0';
        dlc_error(SRCLOC_NONE, "cannot run nvcc '%s' (%s); install the CUDA toolkit or set $DLC_NVCC", cmd[0],
                  line + strlen(NO_EXEC));
    }
    fprintf(stderr, "dlc: internal error: nvcc failed (status %d) on the generated code:\n ", rc);
    for (int i = 0; cmd[i]; i++) fprintf(stderr, " %s", cmd[i]);
    fprintf(stderr, "\n");
    dlc_show_file(log);
    if (!kept) fprintf(stderr, "(run it again with --keep-source DIR to keep the generated source)\n");
    return EXIT_ICE;
}

int dlc_build_cuda(Arena *a, const char *dir, const char *stem, const char *out, const char *arch, const char *tmp,
                   bool kept)
{
    const char *nvcc = dlc_nvcc_path();
    char *src = arena_printf(a, "%s/%s.cu", dir, stem);
    char *obj = arena_printf(a, "%s/%s.o", tmp, stem);
    char *log = arena_printf(a, "%s/nvcc.log", tmp);
    char *cmd[40];
    int k = 0;
    cmd[k++] = (char *)nvcc;
    cmd[k++] = "-std=c++17";
    cmd[k++] = "-O3";
    cmd[k++] = "-gencode";
    cmd[k++] = "arch=compute_80,code=sm_80";
    cmd[k++] = "-gencode";
    cmd[k++] = "arch=compute_90,code=sm_90";
    cmd[k++] = "-gencode";
    cmd[k++] = "arch=compute_90,code=compute_90"; /* PTX: newer GPUs JIT it */
    if (arch && strcmp(arch, "sm_80") != 0 && strcmp(arch, "sm_90") != 0) {
        cmd[k++] = "-gencode";
        cmd[k++] = arena_printf(a, "arch=compute_%s,code=%s", arch + 3, arch);
    }
    cmd[k++] = "-Xcompiler";
    cmd[k++] = "-Wall,-Wextra";
    cmd[k++] = "-Werror";
    cmd[k++] = "all-warnings";
#ifdef DLC_CUDA_ASAN
    cmd[k++] = "-DDLRT_CUDA_ASAN";
#endif
    cmd[k++] = arena_printf(a, "-I%s", dir);
    cmd[k++] = arena_printf(a, "-I%s", DLC_RUNTIME_INCLUDE);
    cmd[k++] = "-c";
    cmd[k++] = src;
    cmd[k++] = "-o";
    cmd[k++] = obj;
    cmd[k] = NULL;
    int rc = step(cmd, log, kept);
    if (rc != EXIT_OK) return rc;

    /* The link: the host C++ compiler, so that a sanitized libdlrt links
       with its runtime; cuBLAS from the toolkit next to nvcc. */
    char *libdir = arena_strdup(a, nvcc);
    char *slash = strrchr(libdir, '/');
    if (slash) {
        *slash = '\0';
        libdir = arena_printf(a, "%s/../lib64", libdir);
    } else {
        libdir = "/usr/local/cuda/lib64";
    }
    k = 0;
    cmd[k++] = "c++";
    cmd[k++] = obj;
    cmd[k++] = DLC_RUNTIME_LIB;
    cmd[k++] = arena_printf(a, "-L%s", libdir);
    cmd[k++] = arena_printf(a, "-Wl,-rpath,%s", libdir);
    cmd[k++] = "-lcublas";
    cmd[k++] = "-lcudart_static";
    cmd[k++] = "-ldl";
    cmd[k++] = "-lpthread";
    cmd[k++] = "-lrt";
    cmd[k++] = "-lz";
    cmd[k++] = "-lm";
#ifdef DLC_CUDA_ASAN
    cmd[k++] = "-fsanitize=address,undefined";
#endif
    cmd[k++] = "-o";
    cmd[k++] = (char *)out;
    cmd[k] = NULL;
    rc = step(cmd, log, kept);
    unlink(obj);
    unlink(log);
    return rc;
}
