/*
 * Token store. The file is small (one line per business system), so it is read whole and
 * rewritten whole through file_write_atomic. Lookups hash the presented token and compare
 * hashes with sodium_memcmp against every entry, so timing reveals nothing about which
 * prefix matched.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "tokens.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ledger/codec.h"
#include "ledger/file.h"
#include "ledger/hash.h"
#include "ledger/schema.h"

#define TOKENS_MAX 256

struct token {
    char name[TOKEN_NAME_MAX + 1];
    uint8_t sha[HASH_BYTES];
};

/* What identifies a version of the file: any change of it is a change of the file (a
 * rewrite through file_write_atomic is a new inode; an edit in place moves the times). */
struct file_id {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct tokens {
    char path[4096 + 16];
    /* All below. Checks, one per API request on every server thread, share it for reading
     * and take it alone only to read the file again. */
    pthread_rwlock_t lock;
    struct token t[TOKENS_MAX];
    size_t n;
    struct file_id seen; /* the version t holds */
    idl_err err;         /* the last read's failure, or IDL_OK */
    bool err_fresh;      /* err not yet taken by tokens_error */
};

static void
tokens_path(char *out, size_t n, const char *home)
{
    snprintf(out, n, "%s/tokens.json", home);
}

/* A token's name: an id (letters, digits, '.', '_', '-'), and no phone or ID number in it. */
static bool
token_name_valid(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len <= TOKEN_NAME_MAX && schema_id_valid(name, len, 0) &&
           schema_text_pii_free(name, len);
}

/* Loads the file at path into t (an absent file is an empty list). */
static idl_err
load(const char *path, struct token *t, size_t *n, json_t **doc)
{
    *n = 0;
    *doc = NULL;
    struct idl_bytes text;
    idl_err rc = file_read_all(path, 1 << 20, &text);
    if (rc == IDL_ERR_NOT_FOUND) {
        *doc = json_pack("{s:[]}", "tokens");
        return IDL_OK;
    }
    if (rc)
        return rc;
    /* Strict, as a hand-edited file is read: a repeated key or name, or a member we do not
     * know, would leave a token valid that its operator meant to revoke. */
    json_t *root = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, NULL);
    free(text.data);
    json_t *list = json_object_get(root, "tokens");
    if (!json_is_array(list) || json_array_size(list) > TOKENS_MAX || json_object_size(root) != 1) {
        json_decref(root);
        return IDL_ERR_CORRUPT;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        json_t *created = json_object_get(e, "created");
        bool ok = name && token_name_valid(name) &&
                  codec_hex_decode(t[i].sha, HASH_BYTES, sha) == IDL_OK &&
                  (!created || json_is_string(created)) &&
                  json_object_size(e) == 2u + (created != NULL);
        /* A name or a token twice: revoking one would leave the other valid. */
        for (size_t k = 0; ok && k < i; k++)
            ok = strcmp(t[k].name, name) != 0 && memcmp(t[k].sha, t[i].sha, HASH_BYTES) != 0;
        if (!ok) {
            json_decref(root);
            return IDL_ERR_CORRUPT;
        }
        snprintf(t[i].name, sizeof(t[i].name), "%s", name);
    }
    *n = json_array_size(list);
    *doc = root;
    return IDL_OK;
}

static void
file_id_get(const char *path, struct file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof(*id));
    if (stat(path, &st) != 0)
        return;
    *id = (struct file_id){true, st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

static bool
file_id_same(const struct file_id *a, const struct file_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/*
 * Whether t holds the version of the file that `now` describes. File times tick with the
 * kernel's coarse clock (milliseconds), and a freed inode comes back: two same-sized
 * rewrites in one tick could look like none. So a file changed within the last two seconds
 * is never taken as current, and is read again at every check. Called with t->lock held.
 */
static bool
is_current(const struct tokens *t, const struct file_id *now)
{
    bool recent = now->exists && time(NULL) - now->mtime.tv_sec < 2;
    return file_id_same(now, &t->seen) && t->err == IDL_OK && !recent;
}

/*
 * Re-reads the file if t does not hold the version `now` describes. Fails closed: a file
 * that cannot be read or parsed leaves no token valid (and is tried again at the next
 * check), rather than keeping tokens its operator may have meant to revoke. Called with
 * t->lock held for writing.
 */
static void
reload_if_changed(struct tokens *t, const struct file_id *now_id)
{
    struct file_id now = *now_id;
    if (is_current(t, &now))
        return;
    json_t *doc;
    size_t n = 0;
    struct token *fresh = calloc(TOKENS_MAX, sizeof(*fresh));
    idl_err rc = fresh ? load(t->path, fresh, &n, &doc) : IDL_ERR_NOMEM;
    sodium_memzero(t->t, sizeof(t->t));
    t->n = 0;
    if (rc == IDL_OK) {
        memcpy(t->t, fresh, n * sizeof(*fresh));
        t->n = n;
        t->seen = now;
        json_decref(doc);
    }
    if (rc != t->err)
        t->err_fresh = rc != IDL_OK;
    t->err = rc;
    if (fresh)
        sodium_memzero(fresh, TOKENS_MAX * sizeof(*fresh));
    free(fresh);
}

idl_err
tokens_error(struct tokens *t, bool *fresh)
{
    pthread_rwlock_wrlock(&t->lock);
    idl_err err = t->err;
    *fresh = t->err_fresh;
    t->err_fresh = false;
    pthread_rwlock_unlock(&t->lock);
    return err;
}

idl_err
tokens_open(struct tokens **out, const char *home)
{
    struct tokens *t = calloc(1, sizeof(*t));
    *out = NULL;
    if (!t)
        return IDL_ERR_NOMEM;
    tokens_path(t->path, sizeof(t->path), home);
    /* Readers never stop coming on a busy node: a reload must not wait for a gap. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rv = pthread_rwlock_init(&t->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rv != 0) {
        free(t);
        return IDL_ERR_NOMEM;
    }
    /* The version is taken before the read: a change during the read is read again. */
    file_id_get(t->path, &t->seen);
    json_t *doc;
    idl_err rc = load(t->path, t->t, &t->n, &doc);
    json_decref(doc);
    if (rc) {
        tokens_close(t);
        return rc;
    }
    *out = t;
    return IDL_OK;
}

void
tokens_close(struct tokens *t)
{
    if (!t)
        return;
    pthread_rwlock_destroy(&t->lock);
    sodium_memzero(t, sizeof(*t));
    free(t);
}

bool
tokens_check(struct tokens *t, const char *presented, char name[TOKEN_NAME_MAX + 1])
{
    name[0] = '\0';
    if (!presented || strlen(presented) != TOKEN_TEXT_LEN)
        return false;
    uint8_t sha[HASH_BYTES];
    hash_sha256(sha, presented, TOKEN_TEXT_LEN);
    bool ok = false;
    /* The file's version is taken before the table is read: a change after it is seen by
     * the next check, a change before it by this one. */
    struct file_id now;
    file_id_get(t->path, &now);
    pthread_rwlock_rdlock(&t->lock);
    if (!is_current(t, &now)) {
        pthread_rwlock_unlock(&t->lock);
        pthread_rwlock_wrlock(&t->lock);
        reload_if_changed(t, &now);
    }
    for (size_t i = 0; i < t->n; i++)
        if (sodium_memcmp(sha, t->t[i].sha, HASH_BYTES) == 0) {
            snprintf(name, TOKEN_NAME_MAX + 1, "%s", t->t[i].name);
            ok = true;
        }
    pthread_rwlock_unlock(&t->lock);
    return ok;
}

static idl_err
save(const char *path, json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return IDL_ERR_NOMEM;
    idl_err rc = file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return rc;
}

idl_err
tokens_add(const char *home, const char *name, char *token_out)
{
    char path[4096 + 16];
    tokens_path(path, sizeof(path), home);
    if (!token_name_valid(name))
        return IDL_ERR_INVALID;
    struct token *t = calloc(TOKENS_MAX, sizeof(*t));
    if (!t)
        return IDL_ERR_NOMEM;
    size_t n = 0;
    json_t *doc;
    idl_err rc = load(path, t, &n, &doc);
    for (size_t i = 0; !rc && i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            rc = IDL_ERR_EXISTS;
    if (!rc && n == TOKENS_MAX)
        rc = IDL_ERR_TOO_LARGE;
    free(t);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    uint8_t raw[32], sha[HASH_BYTES];
    randombytes_buf(raw, sizeof(raw));
    memcpy(token_out, "idl_", 4);
    codec_hex_encode(token_out + 4, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    hash_sha256(sha, token_out, TOKEN_TEXT_LEN);
    char hex[HASH_HEX_BYTES], when[32];
    codec_hex_encode(hex, sha, HASH_BYTES);
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_array_append_new(json_object_get(doc, "tokens"),
                          json_pack("{s:s, s:s, s:s}", "name", name, "sha256", hex, "created",
                                    when));
    rc = save(path, doc);
    json_decref(doc);
    return rc;
}

idl_err
tokens_revoke(const char *home, const char *name)
{
    char path[4096 + 16];
    tokens_path(path, sizeof(path), home);
    struct token *t = calloc(TOKENS_MAX, sizeof(*t));
    if (!t)
        return IDL_ERR_NOMEM;
    size_t n = 0;
    json_t *doc;
    idl_err rc = load(path, t, &n, &doc);
    json_t *list = json_object_get(doc, "tokens");
    if (!rc)
        rc = IDL_ERR_NOT_FOUND;
    for (size_t i = 0; rc == IDL_ERR_NOT_FOUND && i < n; i++)
        if (strcmp(t[i].name, name) == 0) {
            json_array_remove(list, i);
            rc = save(path, doc);
        }
    json_decref(doc);
    free(t);
    return rc;
}

idl_err
tokens_list(const char *home, FILE *out)
{
    char path[4096 + 16];
    tokens_path(path, sizeof(path), home);
    struct token *t = calloc(TOKENS_MAX, sizeof(*t));
    if (!t)
        return IDL_ERR_NOMEM;
    size_t n = 0;
    json_t *doc;
    idl_err rc = load(path, t, &n, &doc);
    json_t *list = json_object_get(doc, "tokens");
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *e = json_array_get(list, i);
        const char *created = json_string_value(json_object_get(e, "created"));
        fprintf(out, "%s\t%s\n", t[i].name, created ? created : "-");
    }
    json_decref(doc);
    free(t);
    return rc;
}
