/* cli.c - parsing the generated program's command line.
 *
 *     PROG train   [--data DIR] [--epochs N] [--batch-size N] [--learning-rate X]
 *                  [--seed N] [--save FILE] [--resume FILE] [--weights FILE]
 *                  [--log FILE] [--no-shuffle] [--max-steps N] [--trace FILE] [--quiet]
 *                  [--threads N] [--allow-nonfinite]   (also eval and predict)
 *     PROG eval    --weights FILE [--data DIR] [--json]
 *     PROG predict --weights FILE INPUT [-o OUT.npy]
 *
 * One table lists every flag with the commands that accept it, whether it
 * takes a value and where the value goes; values may follow as the next
 * argument or after '=' (--epochs=5).  Numbers are checked completely
 * (no trailing junk, in range); every mistake is a message naming the flag.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cli.h"

typedef enum { K_STR, K_INT, K_FLOAT, K_BOOL } kind;

typedef struct flag_spec {
    const char *name;
    const char *alias;
    int cmds;          /* mask of dlrt_cmd */
    kind k;
    size_t off;        /* into dlrt_opts */
    int64_t min;       /* K_INT: smallest value accepted */
} flag_spec;

#define T DLRT_CMD_TRAIN
#define E DLRT_CMD_EVAL
#define P DLRT_CMD_PREDICT
static const flag_spec flags[] = {
    {"--data", NULL, T | E, K_STR, offsetof(dlrt_opts, data), 0},
    {"--epochs", NULL, T, K_INT, offsetof(dlrt_opts, epochs), 0},
    {"--batch-size", NULL, T, K_INT, offsetof(dlrt_opts, batch_size), 1},
    {"--learning-rate", NULL, T, K_FLOAT, offsetof(dlrt_opts, learning_rate), 0},
    {"--seed", NULL, T, K_INT, offsetof(dlrt_opts, seed), 0},
    {"--save", NULL, T, K_STR, offsetof(dlrt_opts, save), 0},
    {"--resume", NULL, T, K_STR, offsetof(dlrt_opts, resume), 0},
    {"--weights", NULL, T | E | P, K_STR, offsetof(dlrt_opts, weights), 0},
    {"--log", NULL, T, K_STR, offsetof(dlrt_opts, log), 0},
    {"--no-shuffle", NULL, T, K_BOOL, offsetof(dlrt_opts, no_shuffle), 0},
    {"--max-steps", NULL, T, K_INT, offsetof(dlrt_opts, max_steps), 1},
    {"--trace", NULL, T, K_STR, offsetof(dlrt_opts, trace), 0},
    {"--quiet", "-q", T, K_BOOL, offsetof(dlrt_opts, quiet), 0},
    {"--json", NULL, E, K_BOOL, offsetof(dlrt_opts, json), 0},
    {"--output", "-o", P, K_STR, offsetof(dlrt_opts, output), 0},
    {"--threads", NULL, T | E | P, K_INT, offsetof(dlrt_opts, threads), 1},
    {"--allow-nonfinite", NULL, T | E | P, K_BOOL, offsetof(dlrt_opts, allow_nonfinite), 0},
};
#undef T
#undef E
#undef P

static const char *cmd_name(dlrt_cmd c)
{
    return c == DLRT_CMD_TRAIN ? "train" : c == DLRT_CMD_EVAL ? "eval" : c == DLRT_CMD_PREDICT ? "predict" : "";
}

/* Stores one flag's value; -1 with a message if it is malformed. */
static int store(const flag_spec *f, const char *val, dlrt_opts *o, dlrt_err *e)
{
    char *field = (char *)o + f->off;
    if (f->k == K_STR) {
        if (!*val) return dlrt_errf(e, "%s needs a non-empty value", f->name);
        memcpy(field, &val, sizeof val);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    if (f->k == K_INT) {
        long long v = strtoll(val, &end, 10);
        if (end == val || *end || errno == ERANGE)
            return dlrt_errf(e, "%s expects an integer, not '%s'", f->name, val);
        if (v < f->min)
            return dlrt_errf(e, "%s must be %s, not %lld", f->name, f->min > 0 ? "positive" : "non-negative", v);
        int64_t iv = v;
        memcpy(field, &iv, sizeof iv);
        return 0;
    }
    double v = strtod(val, &end);
    if (end == val || *end || errno == ERANGE || !isfinite(v))
        return dlrt_errf(e, "%s expects a number, not '%s'", f->name, val);
    if (v <= 0) return dlrt_errf(e, "%s must be positive, not %s", f->name, val);
    memcpy(field, &v, sizeof v);
    return 0;
}

/* Parses argv into o: the command, then flags in any order (see the table
 * above) and, for predict, one INPUT.  -1 with a usage message. */
int dlrt_parse_args(int argc, char **argv, dlrt_opts *o, dlrt_err *e)
{
    memset(o, 0, sizeof *o);
    o->epochs = o->batch_size = o->max_steps = o->seed = -1;
    o->learning_rate = -1;
    if (argc < 2) return dlrt_errf(e, "no command given (train, eval or predict)");
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        o->help = 1;
        return 0;
    }
    if (!strcmp(c, "train")) o->cmd = DLRT_CMD_TRAIN;
    else if (!strcmp(c, "eval")) o->cmd = DLRT_CMD_EVAL;
    else if (!strcmp(c, "predict")) o->cmd = DLRT_CMD_PREDICT;
    else if (c[0] == '-') return dlrt_errf(e, "unknown option '%s' (expected a command: train, eval or predict)", c);
    else return dlrt_errf(e, "unknown command '%s' (expected train, eval or predict)", c);
    int only_positional = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            o->help = 1;
            continue;
        }
        if (!only_positional && !strcmp(a, "--")) {
            only_positional = 1;
            continue;
        }
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (o->cmd != DLRT_CMD_PREDICT) return dlrt_errf(e, "%s takes no argument '%s'", cmd_name(o->cmd), a);
            if (o->input) return dlrt_errf(e, "predict takes one INPUT file, got '%s' and '%s'", o->input, a);
            o->input = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const flag_spec *f = NULL;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
            const char *names[2] = {flags[k].name, flags[k].alias};
            for (int j = 0; j < 2; j++)
                if (names[j] && strlen(names[j]) == nlen && !strncmp(names[j], a, nlen)) f = &flags[k];
        }
        if (!f || !(f->cmds & (int)o->cmd))
            return dlrt_errf(e, "unknown option '%.*s' for %s (see %s --help)", (int)nlen, a, cmd_name(o->cmd),
                             cmd_name(o->cmd));
        if (f->k == K_BOOL) {
            if (eq) return dlrt_errf(e, "%s takes no value", f->name);
            *(int *)((char *)o + f->off) = 1;
            continue;
        }
        const char *val;
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) return dlrt_errf(e, "%s needs a value", f->name);
            val = argv[++i];
        }
        if (store(f, val, o, e)) return -1;
    }
    if (o->help) return 0;
    if (o->cmd == DLRT_CMD_TRAIN && o->resume && o->weights)
        return dlrt_errf(e, "--resume and --weights cannot be combined (--resume restores everything)");
    if ((o->cmd == DLRT_CMD_EVAL || o->cmd == DLRT_CMD_PREDICT) && !o->weights)
        return dlrt_errf(e, "%s needs --weights FILE", cmd_name(o->cmd));
    if (o->cmd == DLRT_CMD_PREDICT && !o->input) return dlrt_errf(e, "predict needs an INPUT file");
    return 0;
}

/* The help text of the program or of one command, with the model's defaults. */
void dlrt_usage(FILE *f, const char *prog, dlrt_cmd cmd, const dlrt_model *m)
{
    switch (cmd) {
    case DLRT_CMD_NONE:
        fprintf(f,
                "usage: %s COMMAND [OPTIONS]\n"
                "\n"
                "Trains, evaluates or runs the model '%s' (compiled by dlc).\n"
                "\n"
                "commands:\n"
                "  train     train on an IDX dataset (Fashion-MNIST layout), evaluate, save\n"
                "  eval      loss and metrics of saved weights on the test split\n"
                "  predict   run saved weights on an IDX or .npy input\n"
                "\n"
                "'%s COMMAND --help' describes a command.\n",
                prog, m->name, prog);
        break;
    case DLRT_CMD_TRAIN:
        fprintf(f,
                "usage: %s train [OPTIONS]\n"
                "\n"
                "Trains the model on DIR/train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz),\n"
                "evaluating on the t10k-* test split after each epoch.\n"
                "\n"
                "  --data DIR           dataset folder (default %s)\n"
                "  --epochs N           epochs to train (default %lld)\n"
                "  --batch-size N       samples per step (default %lld, at most %lld)\n"
                "  --learning-rate X    override the optimizer's learning rate",
                prog, DLRT_DEFAULT_DATA, (long long)m->epochs, (long long)m->batch_size,
                (long long)m->max_batch);
        if (m->learning_rate >= 0) fprintf(f, " (default %g)", m->learning_rate);
        fprintf(f,
                "\n"
                "  --seed N             seed of initialization, shuffling, dropout (default %llu)\n"
                "  --save FILE          save parameters and optimizer state (safetensors) after each epoch\n"
                "  --resume FILE        continue the run saved in FILE\n"
                "  --weights FILE       initialize the parameters from FILE (fresh optimizer state)\n"
                "  --log FILE           write the per-epoch history as CSV\n"
                "  --no-shuffle         keep the dataset's order\n"
                "  --max-steps N        stop after N steps in total\n"
                "  --trace FILE         write each step's loss as CSV (step,loss)\n"
                "  --quiet, -q          print only the final result\n"
                "  --threads N          threads for the GEMMs and large loops (default: the cores)\n"
                "  --allow-nonfinite    load a --resume/--weights checkpoint even if it holds NaN or inf\n",
                (unsigned long long)m->seed);
        break;
    case DLRT_CMD_EVAL:
        fprintf(f,
                "usage: %s eval --weights FILE [--data DIR] [--json]\n"
                "\n"
                "Loss and metrics of the weights in FILE on DIR/t10k-images-idx3-ubyte(.gz)\n"
                "and t10k-labels-idx1-ubyte(.gz).\n"
                "\n"
                "  --weights FILE       a checkpoint written by train --save\n"
                "  --data DIR           dataset folder (default %s)\n"
                "  --json               print one line {\"loss\":L,\"accuracy\":A}\n"
                "  --threads N          threads for the GEMMs and large loops (default: the cores)\n"
                "  --allow-nonfinite    load FILE even if it holds NaN or inf values\n",
                prog, DLRT_DEFAULT_DATA);
        break;
    case DLRT_CMD_PREDICT:
        fprintf(f,
                "usage: %s predict --weights FILE INPUT [-o OUT.npy]\n"
                "\n"
                "Runs the model on INPUT: an IDX file of unsigned bytes (scaled by 1/255) or a .npy\n"
                "array (f32; u8 scaled by 1/255; i32) of samples of %lld values, with or without the\n"
                "batch dimension.  Prints, one sample a line, ",
                prog, (long long)m->in_size);
        if (m->out_size == 1)
            fprintf(f, "its output value.\n");
        else if (m->out_values)
            fprintf(f, "its %lld output values.\n", (long long)m->out_size);
        else if (m->train_step)
            fprintf(f, "its predicted class (the argmax of\nits %lld outputs).\n", (long long)m->out_size);
        else
            fprintf(f, "the index of the largest of its\n%lld outputs (argmax: the class, for a classifier).\n",
                    (long long)m->out_size);
        fprintf(f,
                "\n"
                "  --weights FILE       a checkpoint written by train --save\n"
                "  -o, --output OUT     also write the outputs as a f32 .npy array [n, %lld]\n"
                "  --threads N          threads for the GEMMs and large loops (default: the cores)\n"
                "  --allow-nonfinite    load FILE even if it holds NaN or inf values\n",
                (long long)m->out_size);
        break;
    }
}
