/* agree.c - runs an embedded build (dlc emit --embed-weights) of a model
 * with 784-float inputs on every image of an IDX file and writes the
 * outputs as a .npy file (f32 [n, OUTPUT_SIZE]), for agree.py to compare
 * with the training program's `predict -o`.
 *
 * Compiled with the generated unit: -DHDR='"mnist_mlp.h"' -DPFX=mnist_mlp
 * (-DUPFX=MNIST_MLP).  usage: agree IMAGES.idx[.gz] OUT.npy [r]
 * With a third argument the reentrant API is used on a caller's arena, in
 * batches of 7 (so chunking by MAX_BATCH and a short last batch are
 * exercised).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include HDR

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define API(s) CAT(PFX, s)
#define M(s) CAT(UPFX, s)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: agree IMAGES OUT.npy [r]\n");
        return 2;
    }
    gzFile f = gzopen(argv[1], "rb");
    unsigned char head[16];
    if (!f || gzread(f, head, 16) != 16 || head[2] != 8 || head[3] != 3) {
        fprintf(stderr, "agree: %s: not an IDX image file\n", argv[1]);
        return 1;
    }
    long n = (long)head[4] << 24 | (long)head[5] << 16 | (long)head[6] << 8 | head[7];
    long size = ((long)head[8] << 24 | (long)head[9] << 16 | (long)head[10] << 8 | head[11]) *
                ((long)head[12] << 24 | (long)head[13] << 16 | (long)head[14] << 8 | head[15]);
    if (size != M(_INPUT_SIZE)) {
        fprintf(stderr, "agree: images of %ld pixels, the model takes %d\n", size, M(_INPUT_SIZE));
        return 1;
    }
    unsigned char *px = malloc((size_t)(n * size));
    float *x = malloc(sizeof(float) * (size_t)(n * size));
    float *y = malloc(sizeof(float) * (size_t)(n * M(_OUTPUT_SIZE)));
    if (!px || !x || !y || gzread(f, px, (unsigned)(n * size)) != (int)(n * size)) {
        fprintf(stderr, "agree: cannot read %ld images\n", n);
        return 1;
    }
    gzclose(f);
    for (long i = 0; i < n * size; i++) x[i] = (float)px[i] / 255.0f;
    if (argc > 3) {
        static float arena[(M(_ARENA_BYTES) + 3) / 4 + 1];
        for (long i = 0; i < n; i += 7) {
            int k = n - i < 7 ? (int)(n - i) : 7;
            if (API(_predict_batch_r)(arena, x + i * size, y + i * M(_OUTPUT_SIZE), k) != M(_OK)) return 1;
        }
    } else {
        for (long i = 0; i < n; i++)
            if (API(_predict)(x + i * size, y + i * M(_OUTPUT_SIZE)) != M(_OK)) return 1;
    }
    FILE *o = fopen(argv[2], "wb");
    char hdr[128];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %d), }", n,
                       M(_OUTPUT_SIZE));
    while ((len + 11) % 64 != 0) hdr[len++] = ' ';
    hdr[len++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 255), (unsigned char)(len >> 8)};
    if (!o || fwrite(pre, 1, 10, o) != 10 || fwrite(hdr, 1, (size_t)len, o) != (size_t)len ||
        fwrite(y, sizeof(float), (size_t)(n * M(_OUTPUT_SIZE)), o) != (size_t)(n * M(_OUTPUT_SIZE)) || fclose(o) != 0) {
        fprintf(stderr, "agree: cannot write %s\n", argv[2]);
        return 1;
    }
    free(px);
    free(x);
    free(y);
    return 0;
}
