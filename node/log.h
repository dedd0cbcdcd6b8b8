/*
 * Structured logs: one JSON object per line on stderr, e.g.
 *   {"ts":"2026-11-23T10:00:00.123Z","level":"info","msg":"block committed","height":5}
 *
 * Fields are given with jansson's json_pack format ("{s:I, s:s}", key, value, ...), so
 * every value is typed and escaped. Rule of the project: no personal data in a log line,
 * ever: ids, codes, heights, counts and hashes only. Thread-safe; lines never interleave.
 */
#ifndef IDL_NODE_LOG_H
#define IDL_NODE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below `level` are dropped. */
void log_set_level(enum log_level level);
/* "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *s);

/* Logs msg with the fields described by fmt (a json_pack object format, or NULL). */
void log_emit(enum log_level level, const char *msg, const char *fmt, ...);

/*
 * A budget of lines for messages a remote party can cause at will (refused connections,
 * refused votes): at most LOG_BURST lines a second, so a flood cannot fill the disk. The
 * first line written after some were left out says how many (its "unlogged" field). The
 * caller serialises the calls on one budget (a lock held, or one thread).
 */
#define LOG_BURST 10

struct log_budget {
    uint64_t second; /* the second (of mono_ms) the lines were counted in */
    unsigned lines;
    uint64_t skipped; /* left out since the last line written */
};

/* True if a line may be written at mono_ms; *skipped is then how many were left out before. */
bool log_budget_take(struct log_budget *b, uint64_t mono_ms, uint64_t *skipped);

#define log_debug(msg, ...) log_emit(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_emit(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_emit(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_emit(LOG_ERROR, msg, __VA_ARGS__)

#endif
