/* json.c - a small, strict JSON parser (RFC 8259) for safetensors headers.
 *
 * Recursive descent over the text, building a tree of malloc'd nodes
 * (children as a linked list in document order).  It is written for
 * untrusted input: every read is bounds-checked against the length (the
 * text need not be NUL-terminated), nesting is capped at JSON_MAX_DEPTH so
 * a hostile "[[[[..." cannot exhaust the stack, strings are validated
 * (escapes, \u surrogate pairs -> UTF-8, no raw control characters, no
 * embedded NUL), numbers follow the JSON grammar exactly, and any error
 * frees what was built and reports the byte offset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_json.h"

typedef struct jparser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    int failed;
} jparser;

static void jfail(jparser *p, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = 1;
    if (!p->err || !p->errlen) return;
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s at byte %zu", buf, p->pos);
}

static void jskip_ws(jparser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int jpeek(jparser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static json_value *jnew(jparser *p, json_type t)
{
    json_value *v = calloc(1, sizeof *v);
    if (!v) jfail(p, "out of memory");
    else v->type = t;
    return v;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits after "\u"; -1 on error. */
static long jhex4(jparser *p)
{
    if (p->len - p->pos < 4) return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval((unsigned char)p->s[p->pos + (size_t)k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    p->pos += 4;
    return v;
}

/* A string starting at the opening quote; returns a malloc'd decoded copy.
 * The decoded form is never longer than the source, so one buffer of the
 * remaining length suffices. */
static char *jstring(jparser *p)
{
    p->pos++; /* opening quote */
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"') end += (p->s[end] == '\\') ? 2 : 1;
    if (end >= p->len) {
        jfail(p, "unterminated string");
        return NULL;
    }
    char *out = malloc(end - start + 1);
    if (!out) {
        jfail(p, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            jfail(p, "control character in string");
            goto bad;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        char esc = p->s[p->pos++];
        switch (esc) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            long cp = jhex4(p);
            if (cp < 0) {
                jfail(p, "bad \\u escape");
                goto bad;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (p->pos + 2 <= end && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
                    p->pos += 2;
                    lo = jhex4(p);
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    jfail(p, "unpaired surrogate in \\u escape");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                jfail(p, "unpaired surrogate in \\u escape");
                goto bad;
            }
            if (cp == 0) {
                jfail(p, "\\u0000 in string");
                goto bad;
            }
            /* UTF-8: at most 4 bytes for at most 6 source characters */
            if (cp < 0x80) {
                out[n++] = (char)cp;
            } else if (cp < 0x800) {
                out[n++] = (char)(0xC0 | (cp >> 6));
                out[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[n++] = (char)(0xE0 | (cp >> 12));
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[n++] = (char)(0xF0 | (cp >> 18));
                out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            jfail(p, "bad escape in string");
            goto bad;
        }
        if (p->pos > end) { /* an escape ran past the closing quote */
            jfail(p, "unterminated string");
            goto bad;
        }
    }
    p->pos = end + 1;
    out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

/* A number, following the JSON grammar exactly:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static json_value *jnumber(jparser *p)
{
    size_t start = p->pos, i = p->pos;
    int integral = 1;
    if (i < p->len && p->s[i] == '-') i++;
    if (i < p->len && p->s[i] == '0') {
        i++;
    } else if (i < p->len && p->s[i] >= '1' && p->s[i] <= '9') {
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    } else {
        jfail(p, "bad number");
        return NULL;
    }
    if (i < p->len && p->s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') {
            jfail(p, "bad number");
            return NULL;
        }
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') {
            jfail(p, "bad number");
            return NULL;
        }
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof buf) {
        jfail(p, "number too long");
        return NULL;
    }
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    json_value *v = jnew(p, JSON_NUMBER);
    if (!v) return NULL;
    v->num = strtod(buf, NULL);
    if (integral) {
        errno = 0;
        long long ll = strtoll(buf, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->ival = ll;
        }
    }
    p->pos = i;
    return v;
}

static int jliteral(jparser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos >= n && !memcmp(p->s + p->pos, word, n)) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static json_value *jvalue(jparser *p, int depth);

/* An array or object; the opening bracket is at pos. */
static json_value *jcontainer(jparser *p, int depth)
{
    int is_obj = p->s[p->pos] == '{';
    char close = is_obj ? '}' : ']';
    if (depth >= JSON_MAX_DEPTH) {
        jfail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
        return NULL;
    }
    json_value *v = jnew(p, is_obj ? JSON_OBJECT : JSON_ARRAY);
    if (!v) return NULL;
    p->pos++;
    json_value **tail = &v->first;
    jskip_ws(p);
    if (jpeek(p) == close) {
        p->pos++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        jskip_ws(p);
        if (is_obj) {
            if (jpeek(p) != '"') {
                jfail(p, "expected a string key");
                goto bad;
            }
            key = jstring(p);
            if (!key) goto bad;
            jskip_ws(p);
            if (jpeek(p) != ':') {
                free(key);
                jfail(p, "expected ':'");
                goto bad;
            }
            p->pos++;
        }
        json_value *child = jvalue(p, depth + 1);
        if (!child) {
            free(key);
            goto bad;
        }
        child->key = key;
        *tail = child;
        tail = &child->next;
        v->count++;
        jskip_ws(p);
        int c = jpeek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            return v;
        }
        jfail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        goto bad;
    }
bad:
    dlrt_json_free(v);
    return NULL;
}

static json_value *jvalue(jparser *p, int depth)
{
    jskip_ws(p);
    int c = jpeek(p);
    json_value *v;
    switch (c) {
    case '{':
    case '[': return jcontainer(p, depth);
    case '"': {
        char *s = jstring(p);
        if (!s) return NULL;
        v = jnew(p, JSON_STRING);
        if (!v) {
            free(s);
            return NULL;
        }
        v->str = s;
        return v;
    }
    case 't':
    case 'f':
        if (jliteral(p, "true") || jliteral(p, "false")) {
            v = jnew(p, JSON_BOOL);
            if (v) v->boolean = c == 't';
            return v;
        }
        break;
    case 'n':
        if (jliteral(p, "null")) return jnew(p, JSON_NULL);
        break;
    case -1: jfail(p, "unexpected end of text"); return NULL;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return jnumber(p);
        break;
    }
    jfail(p, "unexpected character");
    return NULL;
}

json_value *dlrt_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    jparser p = {text, len, 0, err, errlen, 0};
    if (err && errlen) err[0] = '\0';
    json_value *v = jvalue(&p, 0);
    if (!v) return NULL;
    jskip_ws(&p);
    if (p.pos != p.len) {
        jfail(&p, "unexpected text after the value");
        dlrt_json_free(v);
        return NULL;
    }
    return v;
}

/* Depth is bounded by JSON_MAX_DEPTH, so recursion here is bounded too. */
void dlrt_json_free(json_value *v)
{
    while (v) {
        json_value *next = v->next;
        dlrt_json_free(v->first);
        free(v->key);
        free(v->str);
        free(v);
        v = next;
    }
}

const json_value *dlrt_json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (const json_value *c = obj->first; c; c = c->next)
        if (c->key && !strcmp(c->key, key)) return c;
    return NULL;
}
