/* srcfile.c - loading source files into the arena (see ir.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

SrcFile *srcfile_from_string(Arena *a, const char *name, const char *text, size_t len) {
    SrcFile *f = ARENA_NEW(a, SrcFile);
    f->name = arena_strdup(a, name);
    f->text = arena_strndup(a, text, len);
    f->len = len;
    return f;
}

/* Reads the whole file in growing chunks (works for pipes and /dev/stdin
 * too, whose size is not known in advance). */
SrcFile *srcfile_load(Arena *a, const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) dlc_error(SRCLOC_NONE, "cannot read '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = arena_alloc(a, cap + 1);
    for (;;) {
        if (len == cap) {
            buf = arena_grow(a, buf, cap + 1, cap * 2 + 1, 1);
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        int err = errno;
        fclose(fp);
        dlc_error(SRCLOC_NONE, "cannot read '%s': %s", path, strerror(err ? err : EIO));
    }
    fclose(fp);
    buf[len] = '\0';
    SrcFile *f = ARENA_NEW(a, SrcFile);
    f->name = arena_strdup(a, path);
    f->text = buf;
    f->len = len;
    return f;
}
