/* cmd_gradcheck.c - `dlc gradcheck`: check every gradient of a model in f64.
 *
 * Loads the model in train mode and hands it to gradcheck_graph()
 * (passes/gradcheck.h), which rebuilds it in f64, differentiates it and
 * compares each parameter's gradient with central finite differences,
 * naming the worst op when a check fails.  Exit status 0 when every
 * gradient is within tolerance, 1 when one is not.
 */
#include <stdio.h>

#include "../frontend/frontend.h"
#include "../passes/gradcheck.h"
#include "args.h"
#include "commands.h"

static void help(void)
{
    printf("usage: dlc gradcheck MODEL [--seed N] [--batch N] [--max-elems N] [--all]\n\n"
           "Checks the gradient of the loss with respect to every parameter of MODEL\n"
           "by central finite differences, in f64 (PyTorch gradcheck's tolerances:\n"
           "eps 1e-6, atol 1e-5, rtol 1e-3).  Names the worst op when a check fails.\n\n"
           "  --seed N        random inputs and parameters (default 1)\n"
           "  --batch N       batch size the check runs at (default 3)\n"
           "  --max-elems N   elements sampled per parameter (default 64)\n"
           "  --all           check every element of every parameter\n");
}

int dlc_cmd_gradcheck(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "gradcheck", argc - 1, argv + 1);
    GradcheckOptions o;
    gradcheck_default_options(&o);
    const char *model = NULL;
    int64_t v;
    while (args_more(&it)) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            help();
            return EXIT_OK;
        } else if (args_opt(&it, "--seed")) {
            if (!args_int(&it, 0, INT64_MAX, &v)) return EXIT_USAGE;
            o.seed = (uint64_t)v;
        } else if (args_opt(&it, "--batch")) {
            if (!args_int(&it, 1, 4096, &o.batch)) return EXIT_USAGE;
        } else if (args_opt(&it, "--max-elems")) {
            if (!args_int(&it, 1, INT64_MAX, &o.max_elems)) return EXIT_USAGE;
        } else if (args_flag(&it, "--all")) {
            o.max_elems = 0;
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (model) return args_usage_error(&it, "more than one model given ('%s' and '%s')", model, w);
            model = w;
        }
    }
    if (it.failed) return EXIT_USAGE;
    if (!model) return args_usage_error(&it, "no model file given");

    Arena arena;
    arena_init(&arena);
    Graph *g = model_load(&arena, model, MODE_TRAIN);
    if (!g->loss) {
        arena_free(&arena);
        dlc_error(SRCLOC_NONE, "%s: the model has no loss to differentiate", model);
    }
    int failed = gradcheck_graph(g, &o, stdout);
    arena_free(&arena);
    return failed ? EXIT_USER : EXIT_OK;
}
