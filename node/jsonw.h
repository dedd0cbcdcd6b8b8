/*
 * A flat JSON object written straight into a growing buffer, for the answer the API gives
 * most often (GET /v1/verify). Built with jansson (an object, a string per member, then a
 * dump), that answer cost about a tenth of the request's CPU; written here it costs a few
 * appends. The output is what jansson's compact dump gives for the same members, in order.
 *
 *     struct jsonw w;
 *     jsonw_init(&w);
 *     jsonw_bool(&w, "allowed", true);
 *     jsonw_str(&w, "reason", "ok");
 *     char *text = jsonw_finish(&w); // {"allowed":true,"reason":"ok"}, or NULL: no memory
 *
 * Keys and values must be UTF-8 text (the API checks its input for that); quotes,
 * backslashes and control characters are escaped as jansson escapes them.
 */
#ifndef IDL_NODE_JSONW_H
#define IDL_NODE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory: jsonw_finish returns NULL */
};

void jsonw_init(struct jsonw *w);
void jsonw_str(struct jsonw *w, const char *key, const char *val);
void jsonw_bool(struct jsonw *w, const char *key, bool val);
void jsonw_u64(struct jsonw *w, const char *key, uint64_t val);
/* Closes the object and hands over its text (the caller frees it); NULL if memory ran out. */
char *jsonw_finish(struct jsonw *w);

#endif
