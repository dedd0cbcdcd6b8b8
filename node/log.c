/*
 * JSON-lines logger. The line is built in memory (timestamp, level, message, then the
 * caller's fields) and written with one write(2), under a mutex, so lines from different
 * threads never interleave even when stderr is a pipe.
 */
#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_set_level(enum log_level level)
{
    min_level = level;
}

int
log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void
log_emit(enum log_level level, const char *msg, const char *fmt, ...)
{
    if (level < min_level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "msg", json_string(msg));
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        json_error_t err;
        json_t *fields = json_vpack_ex(&err, 0, fmt, ap);
        va_end(ap);
        if (fields)
            json_object_update(line, fields);
        else
            json_object_set_new(line, "log_error", json_string(err.text));
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: write len + 1 bytes, the string is not used again */
    pthread_mutex_lock(&log_lock);
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    pthread_mutex_unlock(&log_lock);
    (void)w;
    free(text);
}

bool
log_budget_take(struct log_budget *b, uint64_t mono_ms, uint64_t *skipped)
{
    uint64_t second = mono_ms / 1000;
    if (second != b->second) {
        b->second = second;
        b->lines = 0;
    }
    if (b->lines == LOG_BURST) {
        b->skipped++;
        return false;
    }
    b->lines++;
    *skipped = b->skipped;
    b->skipped = 0;
    return true;
}
