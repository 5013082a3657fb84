/* args.h - small command-line parsing helpers shared by the dlc commands.
 *
 * Each command walks argv with an ArgIter.  Flags take their value either
 * as the next word (`-o out`) or after `=` (`--mode=train`).  A mistake in
 * the command line is a usage error: the message goes to stderr with a hint
 * to run `dlc CMD --help`, and the command returns exit status 2.
 */
#ifndef DLC_DRIVER_ARGS_H
#define DLC_DRIVER_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of dlc (docs/architecture.md). */
enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2, EXIT_ICE = 3 };

typedef struct ArgIter {
    int argc;
    char **argv;
    int i;              /* next word to look at */
    const char *cmd;    /* command name for messages ("ir") */
    const char *value;  /* value of the flag just matched */
    const char *opt;    /* that flag's name ("--max-batch"), for messages */
    bool failed;        /* a usage error was reported */
} ArgIter;

void args_init(ArgIter *it, const char *cmd, int argc, char **argv);
/* True while words remain; the current word is it->argv[it->i]. */
bool args_more(const ArgIter *it);
/* Matches a flag without value (`--help`); consumes it. */
bool args_flag(ArgIter *it, const char *name);
/* Matches a flag with a value; sets it->value; consumes both. A missing
 * value is a usage error (it->failed). */
bool args_opt(ArgIter *it, const char *name);
/* Same, for short and long spellings (`-o`, `--output`). */
bool args_opt2(ArgIter *it, const char *s, const char *l);
/* Parses it->value as an integer in [lo, hi]; otherwise a usage error
 * naming the flag (`invalid value '0' for --max-batch (...)`). */
bool args_int(ArgIter *it, int64_t lo, int64_t hi, int64_t *out);
/* Takes the current word as a positional argument (NULL if it looks like
 * an unknown flag: that is reported as a usage error). */
const char *args_positional(ArgIter *it);
/* Reports a usage error for this command; returns EXIT_USAGE. */
int args_usage_error(ArgIter *it, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
