/* rt_cli.h - private to the runtime: the generated program's command line
 * (cli.c parses it; main.c, train.c and infer.c run the commands). */
#ifndef DLRT_RT_CLI_H
#define DLRT_RT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "dlrt.h"
#include "rt_ckpt.h"
#include "rt_data.h"
#include "rt_err.h"

typedef enum { DLRT_CMD_NONE = 0, DLRT_CMD_TRAIN = 1, DLRT_CMD_EVAL = 2, DLRT_CMD_PREDICT = 4 } dlrt_cmd;

#define DLRT_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* What train and eval say to a program without a loss: the only ways to
 * build one are --mode infer and an ONNX model (always inference only). */
#define DLRT_INFER_ONLY                                                                                  \
    "this program was built for inference only (dlc build --mode infer, or an ONNX model); rebuild it " \
    "from its .nn model without `--mode infer`"

typedef struct dlrt_opts {
    dlrt_cmd cmd;
    int help;                 /* --help / -h given */
    const char *data, *save, *resume, *weights, *log, *trace, *output, *input;
    int64_t epochs, batch_size, max_steps, seed;   /* -1: not given */
    int64_t threads;                               /* 0: not given */
    double learning_rate;                          /* < 0: not given */
    int no_shuffle, quiet, json;
    int allow_nonfinite;      /* load checkpoints holding NaN/inf */
} dlrt_opts;

/* The checkpoint reader's flags for the options (dlrt_st_read_ex). */
#define DLRT_CKPT_FLAGS(o) ((o)->allow_nonfinite ? 0u : DLRT_ST_REQUIRE_FINITE)

/* Parses argv (argv[0] the program).  Returns 0, or -1 with a usage
 * message in e (exit status 2). */
int dlrt_parse_args(int argc, char **argv, dlrt_opts *o, dlrt_err *e);
/* The help text of the program (cmd NONE) or of one command. */
void dlrt_usage(FILE *f, const char *prog, dlrt_cmd cmd, const dlrt_model *m);

/* The commands; each returns the exit status (0, 1 bad input). */
int dlrt_cmd_train(const dlrt_model *m, const dlrt_opts *o, const char *prog);
int dlrt_cmd_eval(const dlrt_model *m, const dlrt_opts *o, const char *prog);
int dlrt_cmd_predict(const dlrt_model *m, const dlrt_opts *o, const char *prog);

/* Loss and metrics (nmetrics doubles) of the model on a whole split, in
 * chunks of at most max_batch samples, averaged by sample.  -1 if out of
 * memory. */
int dlrt_evaluate(const dlrt_model *m, const dlrt_dataset *ds, double *loss, double *metrics);
/* Allocates the model's arena (setup) and fills it (init_params); on
 * failure prints a message and returns -1. */
int dlrt_model_start(const dlrt_model *m, uint64_t seed, const char *prog);

/* Prints "PROG: error: MSG" on stderr. */
void dlrt_report(const char *prog, const char *msg);

#endif
