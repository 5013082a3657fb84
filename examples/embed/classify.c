/* classify.c - the smallest use of dlc's embeddable inference code: one
 * Fashion-MNIST image in, its class out.
 *
 *   dlc emit models/mnist_mlp.nn --embed-weights --weights w.safetensors -o out/
 *   cc -std=c99 -O2 -Iout examples/embed/classify.c out/mnist_mlp.c -lm -o classify
 *   ./classify IMAGE.raw        (28 x 28 = 784 bytes, row by row, 0 = background)
 *
 * It includes only the generated header: no runtime library, no BLAS
 * (unless the unit was emitted without --no-blas: then add -lopenblas).
 * Prints "CLASS NAME PROBABILITY", e.g. "9 Ankle-boot 0.8734".
 */
#include <stdio.h>

#include "mnist_mlp.h"

static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle-boot"};

int main(int argc, char **argv)
{
    unsigned char pixels[MNIST_MLP_INPUT_SIZE];
    float input[MNIST_MLP_INPUT_SIZE], probs[MNIST_MLP_OUTPUT_SIZE];
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (!f || fread(pixels, 1, sizeof pixels, f) != sizeof pixels) {
        fprintf(stderr, "usage: classify IMAGE.raw (%d bytes)\n", MNIST_MLP_INPUT_SIZE);
        return 2;
    }
    fclose(f);
    for (int i = 0; i < MNIST_MLP_INPUT_SIZE; i++) input[i] = pixels[i] / 255.0f;  /* as in training */

    int rc = mnist_mlp_predict(input, probs);
    if (rc != MNIST_MLP_OK) {
        fprintf(stderr, "classify: mnist_mlp_predict failed (%d)\n", rc);
        return 1;
    }
    int best = 0;
    for (int c = 1; c < MNIST_MLP_OUTPUT_SIZE; c++)
        if (probs[c] > probs[best]) best = c;
    printf("%d %s %.4f\n", best, best < 10 ? names[best] : "?", probs[best]);
    return 0;
}
