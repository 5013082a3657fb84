/* npy_run.c - runs an embedded build (dlc emit --embed-weights) on the
 * samples of a .npy file (f32, C order, shape [n, ...] with
 * INPUT_SIZE floats per sample) and writes the outputs as .npy (f32
 * [n, OUTPUT_SIZE]), for comparison with a reference's outputs.
 *
 * Compiled with the generated unit: -DHDR='"mlp.h"' -DPFX=mlp -DUPFX=MLP.
 * usage: npy_run IN.npy OUT.npy
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include HDR

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define API(s) CAT(PFX, s)
#define M(s) CAT(UPFX, s)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: npy_run IN.npy OUT.npy\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
        fprintf(stderr, "npy_run: %s: not a version 1 .npy file\n", argv[1]);
        return 1;
    }
    size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    char *hdr = calloc(hlen + 1, 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen || !strstr(hdr, "'<f4'") || strstr(hdr, "True")) {
        fprintf(stderr, "npy_run: %s: not a little-endian f32 array in C order\n", argv[1]);
        return 1;
    }
    const char *sh = strstr(hdr, "'shape': (");
    long n = sh ? strtol(sh + 10, NULL, 10) : -1;
    float *x = malloc(sizeof(float) * (size_t)(n * M(_INPUT_SIZE)) + 1);
    float *y = malloc(sizeof(float) * (size_t)(n * M(_OUTPUT_SIZE)) + 1);
    if (n < 1 || !x || !y || fread(x, sizeof(float), (size_t)(n * M(_INPUT_SIZE)), f) != (size_t)(n * M(_INPUT_SIZE)) ||
        fgetc(f) != EOF) {
        fprintf(stderr, "npy_run: %s: expected n x %d floats\n", argv[1], M(_INPUT_SIZE));
        return 1;
    }
    fclose(f);
    int rc = API(_predict_batch)(x, y, (int)n);
    if (rc != M(_OK)) {
        fprintf(stderr, "npy_run: predict_batch failed (%d)\n", rc);
        return 1;
    }
    FILE *o = fopen(argv[2], "wb");
    char h[128];
    int len = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %d), }", n, M(_OUTPUT_SIZE));
    while ((len + 11) % 64 != 0) h[len++] = ' ';
    h[len++] = '\n';
    unsigned char p2[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 255), (unsigned char)(len >> 8)};
    if (!o || fwrite(p2, 1, 10, o) != 10 || fwrite(h, 1, (size_t)len, o) != (size_t)len ||
        fwrite(y, sizeof(float), (size_t)(n * M(_OUTPUT_SIZE)), o) != (size_t)(n * M(_OUTPUT_SIZE)) || fclose(o) != 0) {
        fprintf(stderr, "npy_run: cannot write %s\n", argv[2]);
        return 1;
    }
    free(hdr);
    free(x);
    free(y);
    return 0;
}
