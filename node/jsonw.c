#include "node/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONW_INITIAL 256

static bool
reserve(struct jsonw *w, size_t more)
{
    if (w->failed)
        return false;
    if (w->len + more + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : JSONW_INITIAL;
    while (cap < w->len + more + 1)
        cap *= 2;
    char *p = realloc(w->buf, cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    w->buf = p;
    w->cap = cap;
    return true;
}

static void
put(struct jsonw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* A quoted, escaped string: at most 6 bytes out per byte in (\u00XX). */
static void
put_quoted(struct jsonw *w, const char *s)
{
    size_t n = strlen(s);
    if (!reserve(w, 6 * n + 2))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
            static const char *const named[0x20] = {
                ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
            };
            if (named[*p]) {
                memcpy(o, named[*p], 2);
                o += 2;
            } else {
                memcpy(o, "\\u00", 4);
                o[4] = hex[*p >> 4];
                o[5] = hex[*p & 15];
                o += 6;
            }
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

/* The separator and the key of the next member. */
static void
member(struct jsonw *w, const char *key)
{
    put(w, w->len ? "," : "{", 1);
    put_quoted(w, key);
    put(w, ":", 1);
}

void
jsonw_init(struct jsonw *w)
{
    *w = (struct jsonw){0};
}

void
jsonw_str(struct jsonw *w, const char *key, const char *val)
{
    member(w, key);
    put_quoted(w, val);
}

void
jsonw_bool(struct jsonw *w, const char *key, bool val)
{
    member(w, key);
    put(w, val ? "true" : "false", val ? 4 : 5);
}

void
jsonw_u64(struct jsonw *w, const char *key, uint64_t val)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRIu64, val);
    member(w, key);
    put(w, num, (size_t)n);
}

char *
jsonw_finish(struct jsonw *w)
{
    put(w, w->len ? "}" : "{}", w->len ? 1 : 2);
    if (w->failed) {
        free(w->buf);
        *w = (struct jsonw){0};
        return NULL;
    }
    w->buf[w->len] = '\0';
    return w->buf;
}
