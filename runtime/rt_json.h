/* rt_json.h - private to the runtime: a small JSON parser (json.c), used
 * for safetensors headers. */
#ifndef DLRT_RT_JSON_H
#define DLRT_RT_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    char *key;                  /* member name, when inside an object */
    char *str;                  /* JSON_STRING: decoded, NUL-terminated (no embedded NUL) */
    double num;                 /* JSON_NUMBER */
    int is_int;                 /* JSON_NUMBER without fraction/exponent that fits int64 */
    int64_t ival;               /* its value when is_int */
    int boolean;                /* JSON_BOOL */
    struct json_value *first;   /* JSON_ARRAY / JSON_OBJECT: children in order */
    struct json_value *next;    /* next sibling */
    int64_t count;              /* number of children */
} json_value;

/* Nesting deeper than this is refused (no recursion blowups). */
#define JSON_MAX_DEPTH 64

/* Parses exactly one JSON value spanning text[0..len) (whitespace around
 * it allowed).  Returns the tree, or NULL with a message (with the byte
 * offset) in err. */
json_value *dlrt_json_parse(const char *text, size_t len, char *err, size_t errlen);
void dlrt_json_free(json_value *v);
/* The member `key` of an object (the first, if repeated), or NULL. */
const json_value *dlrt_json_get(const json_value *obj, const char *key);

#endif
