/* clean.h - the API of clean.c (checked with the same rules). */
#ifndef CLEAN_H
#define CLEAN_H
#include <stdint.h>
#define CLEAN_IN 3
#define CLEAN_OUT 2
#define CLEAN_ARENA_FLOATS (CLEAN_IN + CLEAN_OUT)
int32_t clean_predict(const float *in, float *out);
#endif
