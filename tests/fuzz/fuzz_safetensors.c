/* fuzz_safetensors.c - libFuzzer harness for the safetensors checkpoint
 * reader (runtime/safetensors.c) and its JSON parser (runtime/json.c).
 *
 * Each input is the bytes of a checkpoint file, read three ways:
 *   1. dlrt_st_read asking for no tensor: the whole header is validated
 *      (JSON, entries, offsets, metadata);
 *   2. dlrt_st_read asking for the tensors of a small model 'm' - "w"
 *      f32[2,3] and "b" f32[3], the names make_seeds.py's seeds use - so
 *      that matching, the model check and the data copy run too;
 *   3. dlrt_json_parse on the bytes after the 8-byte length, whatever that
 *      length says, so that mutations which break the length still reach
 *      the parser; the tree is checked for consistency.
 * A failure must come with a message (naming the file, for the reader).
 * A crash, a sanitizer report, a leak or a broken promise (abort) is a bug.
 * Built and run by tests/fuzz/run.sh over the seeds of make_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "rt_ckpt.h"
#include "rt_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks a parsed JSON tree's invariants; returns its depth. */
static int check_tree(const json_value *v, int in_object)
{
    if ((v->key != NULL) != in_object) abort();
    if (v->type == JSON_STRING && !v->str) abort();
    if (v->type == JSON_NUMBER && v->is_int && v->num != (double)v->ival) abort();
    int depth = 0;
    int64_t n = 0;
    for (const json_value *c = v->first; c; c = c->next, n++) {
        int d = check_tree(c, v->type == JSON_OBJECT);
        if (d > depth) depth = d;
    }
    if (v->type != JSON_ARRAY && v->type != JSON_OBJECT && n) abort();
    if (n != v->count && (v->type == JSON_ARRAY || v->type == JSON_OBJECT)) abort();
    return depth + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile(data, size);
    dlrt_err e;
    dlrt_ckpt_info info;
    if (dlrt_st_read(path, NULL, 0, NULL, &info, &e) != 0 && !strstr(e.msg, path)) abort();

    float w[6], b[3];
    dlrt_tensor want[2] = {
        {"w", DLRT_F32, 2, {2, 3}, w},
        {"b", DLRT_F32, 1, {3}, b},
    };
    if (dlrt_st_read(path, want, 2, "m", &info, &e) != 0) {
        if (!strstr(e.msg, path)) abort();
    } else {
        if (info.model[0] && strcmp(info.model, "m") != 0) abort();
        volatile float acc = 0;
        for (int i = 0; i < 6; i++) acc += w[i];
        for (int i = 0; i < 3; i++) acc += b[i];
    }

    if (size >= 8) {
        char err[256] = "";
        json_value *root = dlrt_json_parse((const char *)data + 8, size - 8, err, sizeof err);
        if (!root) {
            if (!strstr(err, "at byte")) abort(); /* every failure says where */
        } else {
            /* JSON_MAX_DEPTH nested containers hold one more level of scalars */
            if (check_tree(root, 0) > JSON_MAX_DEPTH + 1) abort();
            dlrt_json_free(root);
        }
    }
    return 0;
}
