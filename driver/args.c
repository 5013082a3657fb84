/* args.c - command-line parsing helpers (see args.h). */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_init(ArgIter *it, const char *cmd, int argc, char **argv)
{
    memset(it, 0, sizeof *it);
    it->argc = argc;
    it->argv = argv;
    it->cmd = cmd;
}

bool args_more(const ArgIter *it) { return !it->failed && it->i < it->argc; }

bool args_flag(ArgIter *it, const char *name)
{
    if (!args_more(it) || strcmp(it->argv[it->i], name) != 0) return false;
    it->i++;
    return true;
}

/* Matches `name VALUE` or `name=VALUE` at the current word. */
bool args_opt(ArgIter *it, const char *name)
{
    if (!args_more(it)) return false;
    const char *w = it->argv[it->i];
    size_t n = strlen(name);
    if (strncmp(w, name, n) != 0) return false;
    it->opt = name;
    if (w[n] == '=') {
        it->value = w + n + 1;
        it->i++;
        return true;
    }
    if (w[n] != '\0') return false;
    if (it->i + 1 >= it->argc) {
        args_usage_error(it, "option '%s' needs a value", name);
        return false;
    }
    it->value = it->argv[it->i + 1];
    it->i += 2;
    return true;
}

bool args_opt2(ArgIter *it, const char *s, const char *l)
{
    return args_opt(it, s) || (!it->failed && args_opt(it, l));
}

bool args_int(ArgIter *it, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(it->value, &end, 10);
    if (errno || end == it->value || *end || v < lo || v > hi) {
        args_usage_error(it, "invalid value '%s' for %s (expected an integer from %lld to %lld)", it->value,
                         it->opt ? it->opt : "the option", (long long)lo, (long long)hi);
        return false;
    }
    *out = v;
    return true;
}

const char *args_positional(ArgIter *it)
{
    if (!args_more(it)) return NULL;
    const char *w = it->argv[it->i];
    if (w[0] == '-' && w[1] != '\0') {
        args_usage_error(it, "unknown option '%s'", w);
        return NULL;
    }
    it->i++;
    return w;
}

int args_usage_error(ArgIter *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dlc %s: error: ", it->cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'dlc %s --help' for usage.\n", it->cmd);
    it->failed = true;
    return EXIT_USAGE;
}
