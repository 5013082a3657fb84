/* main.c - dlrt_main: the generated program's entry point.  Parses the
 * command line (cli.c), prints help, and runs train (train.c), eval or
 * predict (infer.c).  Exit status: 0 success, 1 bad input (a file, the
 * data, an output that cannot be written), 2 bad usage. */
#include <stdio.h>
#include <string.h>

#include "rt_cli.h"
#include "rt_report.h"

void dlrt_report(const char *prog, const char *msg)
{
    fflush(stdout);
    fprintf(stderr, "%s: error: %s\n", prog, msg);
}

/* Parses, prints help or a usage error (exit 2), or runs the command. */
int dlrt_main(const dlrt_model *m, int argc, char **argv)
{
    const char *prog = argc > 0 && argv[0] ? argv[0] : m->name;
    const char *slash = strrchr(prog, '/');
    if (slash && slash[1]) prog = slash + 1;
    dlrt_opts o;
    dlrt_err e;
    if (dlrt_parse_args(argc, argv, &o, &e)) {
        dlrt_report(prog, e.msg);
        fprintf(stderr, "usage: %s train|eval|predict [OPTIONS]  (%s --help for more)\n", prog, prog);
        return 2;
    }
    if (o.help) {
        dlrt_usage(stdout, prog, o.cmd, m);
        if (dlrt_out_flush(stdout, "the standard output", &e) == 0) return 0;
        dlrt_report(prog, e.msg);
        return 1;
    }
    if (o.threads > 0) dlrt_set_threads(o.threads > 4096 ? 4096 : (int)o.threads);
    int status = 2;
    switch (o.cmd) {
    case DLRT_CMD_TRAIN: status = dlrt_cmd_train(m, &o, prog); break;
    case DLRT_CMD_EVAL: status = dlrt_cmd_eval(m, &o, prog); break;
    case DLRT_CMD_PREDICT: status = dlrt_cmd_predict(m, &o, prog); break;
    case DLRT_CMD_NONE: break;
    }
    /* what was printed must have reached the standard output (a full disk
       under a redirection is an error, not a cut file) */
    if (dlrt_out_flush(stdout, "the standard output", &e) && status == 0) {
        dlrt_report(prog, e.msg);
        status = 1;
    }
    return status;
}
