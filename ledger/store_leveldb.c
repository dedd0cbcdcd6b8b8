/*
 * The LevelDB store. Options: a 32 MiB block cache (the node must stay under 256 MB at 1,000,000
 * identities; the page cache holds the rest) and a bloom filter (most reads are point lookups of
 * records that exist or of keys that do not, such as nonces and uniqueness checks), no compression
 * (sealed personal data and signatures do not compress), paranoid checks so corruption is reported
 * rather than skipped. A write with sync calls fsync on the log before returning, which is the
 * durability of a committed block. Iterators read from a snapshot so a query sees one block's state
 * even while the next one is being written.
 *
 * Tables are read with pread, not through memory maps. LevelDB maps up to 1,000 table files
 * by default, and every page a read or a compaction touches then stays counted in the
 * node's resident memory: some 300 MB of a 1,000,000-identity chain, on top of the heap.
 * Read with pread, the blocks go through the block cache, which is bounded, and the files
 * through the kernel's page cache, which is not the node's. The C API has no option for
 * this; the switch is LevelDB's EnvPosixTestHelper::SetReadOnlyMMapLimit, which is why the
 * build links LevelDB statically (the shared library does not export it).
 *
 * Large values live outside LevelDB. A value of BLOB_MIN bytes or more (in practice: the
 * blocks) is appended to one file, DIR/values.blob, and LevelDB keeps a 29-byte pointer to
 * it. LevelDB would otherwise write each block three times on the way in (log, memtable,
 * level-0 table) and again at every compaction that moves it down a level, with the state
 * records it shares its key range with: blocks were 40 to 50 % of the bytes the compactions
 * rewrote. Every value in LevelDB starts with a tag byte:
 *
 *     0, the value                             a value kept in LevelDB
 *     1, u64 offset, u32 length, 16-byte hash  a value in the blob file (BLAKE2b-128 of it)
 *
 * The blob file only grows. Its bytes are fsynced before the LevelDB batch that points at
 * them is written, whether or not that batch is synced, so no pointer LevelDB has kept can
 * point past what the file has kept (and a failed fsync stops all further writes of large
 * values: the file's state is then unknown). The batch also records the file's new end
 * (KEY_BLOB_END): a file shorter than that on open is a corrupt store; bytes past it are a
 * write whose batch was lost, left in place. A value overwritten or deleted leaves its bytes
 * in the file: the ledger writes blocks once and never deletes them.
 *
 * Two keys are the store's own (KEY_FORMAT, KEY_BLOB_END): writing them is IDL_ERR_INVALID,
 * reading them finds nothing, and iterators do not show them.
 */
#include "store.h"

#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <leveldb/c.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* leveldb::EnvPosixTestHelper::SetReadOnlyMMapLimit(int): before the default Env exists. */
extern void leveldb_set_mmap_limit(int limit) __asm__(
    "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi");

static pthread_once_t no_mmap_once = PTHREAD_ONCE_INIT;

static void
no_mmap(void)
{
    leveldb_set_mmap_limit(0);
}

enum {
    BLOB_MIN = 4096, /* values this large go to the blob file */
    TAG_INLINE = 0,
    TAG_BLOB = 1,
    BLOB_HASH = 16,
    PTR_OFFSET = 1, /* a pointer: the tag, then these */
    PTR_LENGTH = PTR_OFFSET + 8,
    PTR_HASH = PTR_LENGTH + 4,
    BLOB_PTR = PTR_HASH + BLOB_HASH,
    FORMAT = 2, /* 1: untagged values, before the blob file */
};

/* The store's own keys. They sort after every key of the ledger, which start with a letter. */
static const uint8_t KEY_FORMAT[] = "\xff\xff\xffstore/format";
static const uint8_t KEY_BLOB_END[] = "\xff\xff\xffstore/blob-end";
#define KEY_LEN(k) (sizeof(k) - 1)

static bool
own_key(const char *k, size_t len)
{
    return len > 3 && (uint8_t)k[0] == 0xff && (uint8_t)k[1] == 0xff && (uint8_t)k[2] == 0xff &&
           ((len == KEY_LEN(KEY_FORMAT) && !memcmp(k, KEY_FORMAT, len)) ||
            (len == KEY_LEN(KEY_BLOB_END) && !memcmp(k, KEY_BLOB_END, len)));
}

struct ldb_store {
    struct store base;
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *write_sync;
    leveldb_writeoptions_t *write_async;
    int blob_fd;
    pthread_mutex_t blob_lock; /* orders appends with the batches that point at them */
    uint64_t blob_end;
    bool blob_failed; /* a failed fsync leaves the file's state unknown: no more writes */
};

struct store_iter {
    struct ldb_store *s;
    leveldb_iterator_t *it;
    const leveldb_snapshot_t *snap;
    leveldb_readoptions_t *read;
    struct idl_bytes blob; /* the current value, when it is in the blob file */
    bool blob_held;        /* blob holds the value at the current position */
    idl_err err;
};

static struct ldb_store *
as_ldb(struct store *s)
{
    return (struct ldb_store *)s;
}

/* LevelDB's Status text starts with its code: "Corruption: ...", "IO error: ...". */
static idl_err
ldb_error(char *err)
{
    idl_err rc = strncmp(err, "Corruption", 10) == 0 ? IDL_ERR_CORRUPT : IDL_ERR_IO;
    leveldb_free(err);
    return rc;
}

static void
blob_hash(uint8_t out[BLOB_HASH], const uint8_t *data, size_t len)
{
    crypto_generichash(out, BLOB_HASH, data, len, NULL, 0);
}

/* Reads the value a tag-1 pointer names into out (malloc'd). */
static idl_err
blob_read(struct ldb_store *l, const uint8_t *ptr, size_t ptr_len, struct idl_bytes *out)
{
    if (ptr_len != BLOB_PTR)
        return IDL_ERR_CORRUPT;
    uint64_t off = codec_be64_get(ptr + PTR_OFFSET);
    uint32_t len = codec_be32_get(ptr + PTR_LENGTH);
    const uint8_t *hash = ptr + PTR_HASH;
    if (len < BLOB_MIN || off > (uint64_t)INT64_MAX - len) /* an off_t */
        return IDL_ERR_CORRUPT;
    uint8_t *buf = malloc(len);
    if (!buf)
        return IDL_ERR_NOMEM;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(l->blob_fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return n < 0 ? IDL_ERR_IO : IDL_ERR_CORRUPT;
        }
        got += (size_t)n;
    }
    uint8_t check[BLOB_HASH];
    blob_hash(check, buf, len);
    if (sodium_memcmp(check, hash, BLOB_HASH) != 0) {
        free(buf);
        return IDL_ERR_CORRUPT;
    }
    out->data = buf;
    out->len = len;
    return IDL_OK;
}

/* The stored form v (tag, then the value or a pointer) as the value itself, in val. */
static idl_err
value_of(struct ldb_store *l, const uint8_t *v, size_t n, struct idl_bytes *val)
{
    if (n >= 1 && v[0] == TAG_BLOB)
        return blob_read(l, v, n, val);
    if (n < 1 || v[0] != TAG_INLINE)
        return IDL_ERR_CORRUPT;
    /* Copied into malloc memory so callers free with free(), whatever LevelDB allocates with. */
    val->data = malloc(n > 1 ? n - 1 : 1);
    if (!val->data)
        return IDL_ERR_NOMEM;
    memcpy(val->data, v + 1, n - 1);
    val->len = n - 1;
    return IDL_OK;
}

static idl_err
ldb_get_raw(struct ldb_store *l, const uint8_t *key, size_t key_len, char **v, size_t *n)
{
    char *err = NULL;
    *v = leveldb_get(l->db, l->read, (const char *)key, key_len, n, &err);
    if (err)
        return ldb_error(err);
    return *v ? IDL_OK : IDL_ERR_NOT_FOUND;
}

static idl_err
ldb_get(struct store *s, const uint8_t *key, size_t key_len, struct idl_bytes *val)
{
    struct ldb_store *l = as_ldb(s);
    if (own_key((const char *)key, key_len))
        return IDL_ERR_NOT_FOUND;
    char *v;
    size_t n;
    idl_err rc = ldb_get_raw(l, key, key_len, &v, &n);
    if (rc)
        return rc;
    rc = value_of(l, (const uint8_t *)v, n, val);
    leveldb_free(v);
    return rc;
}

/* Writes all of iov at the blob file's end and fsyncs it; the end moves only on success. */
static idl_err
blob_append(struct ldb_store *l, struct iovec *iov, int n, size_t total)
{
    size_t done = 0;
    int i = 0;
    while (done < total) {
        int cnt = n - i < IOV_MAX ? n - i : IOV_MAX;
        ssize_t w = pwritev(l->blob_fd, iov + i, cnt, (off_t)(l->blob_end + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return IDL_ERR_IO;
        done += (size_t)w;
        for (size_t left = (size_t)w; left;) { /* skip what was written */
            size_t step = left < iov[i].iov_len ? left : iov[i].iov_len;
            iov[i].iov_base = (uint8_t *)iov[i].iov_base + step;
            iov[i].iov_len -= step;
            left -= step;
            if (!iov[i].iov_len)
                i++;
        }
    }
    if (fdatasync(l->blob_fd) != 0) {
        l->blob_failed = true;
        return IDL_ERR_IO;
    }
    l->blob_end += total;
    return IDL_OK;
}

static bool
put_tagged(leveldb_writebatch_t *wb, const struct store_op *op)
{
    uint8_t small[512];
    uint8_t *buf = op->val_len < sizeof(small) ? small : malloc(op->val_len + 1);
    if (!buf)
        return false;
    buf[0] = TAG_INLINE;
    memcpy(buf + 1, op->val, op->val_len);
    leveldb_writebatch_put(wb, (const char *)op->key, op->key_len, (const char *)buf,
                           op->val_len + 1);
    if (buf != small)
        free(buf);
    return true;
}

static idl_err
ldb_write(struct store *s, const struct store_batch *b, bool sync)
{
    struct ldb_store *l = as_ldb(s);
    size_t blobs = 0, blob_bytes = 0;
    for (size_t i = 0; i < b->count; i++) {
        const struct store_op *op = &b->ops[i];
        if (own_key((const char *)op->key, op->key_len))
            return IDL_ERR_INVALID;
        if (op->val && op->val_len >= BLOB_MIN) {
            if (op->val_len > UINT32_MAX)
                return IDL_ERR_TOO_LARGE;
            blobs++;
            blob_bytes += op->val_len;
        }
    }
    /* The values' hashes are taken before the lock, which only orders the file. */
    struct iovec *iov = blobs ? malloc(blobs * sizeof(*iov)) : NULL;
    uint8_t(*hash)[BLOB_HASH] = blobs ? malloc(blobs * BLOB_HASH) : NULL;
    if (blobs && (!iov || !hash)) {
        free(iov);
        free(hash);
        return IDL_ERR_NOMEM;
    }
    for (size_t i = 0, k = 0; i < b->count; i++)
        if (b->ops[i].val && b->ops[i].val_len >= BLOB_MIN)
            blob_hash(hash[k++], b->ops[i].val, b->ops[i].val_len);
    uint64_t off = 0;
    if (blobs) {
        pthread_mutex_lock(&l->blob_lock);
        off = l->blob_end;
    }
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    int k = 0;
    idl_err rc = blobs && l->blob_failed ? IDL_ERR_IO : IDL_OK;
    for (size_t i = 0; i < b->count && !rc; i++) {
        const struct store_op *op = &b->ops[i];
        if (!op->val) {
            leveldb_writebatch_delete(wb, (const char *)op->key, op->key_len);
        } else if (op->val_len < BLOB_MIN) {
            if (!put_tagged(wb, op))
                rc = IDL_ERR_NOMEM;
        } else {
            uint8_t ptr[BLOB_PTR] = {TAG_BLOB};
            codec_be64_put(ptr + PTR_OFFSET, off);
            codec_be32_put(ptr + PTR_LENGTH, (uint32_t)op->val_len);
            memcpy(ptr + PTR_HASH, hash[k], BLOB_HASH);
            leveldb_writebatch_put(wb, (const char *)op->key, op->key_len, (const char *)ptr,
                                   sizeof(ptr));
            iov[k++] = (struct iovec){op->val, op->val_len};
            off += op->val_len;
        }
    }
    if (blobs && !rc) {
        uint8_t end[9] = {TAG_INLINE};
        codec_be64_put(end + 1, off);
        leveldb_writebatch_put(wb, (const char *)KEY_BLOB_END, KEY_LEN(KEY_BLOB_END),
                               (const char *)end, sizeof(end));
        rc = blob_append(l, iov, k, blob_bytes);
    }
    if (!rc) {
        char *err = NULL;
        leveldb_write(l->db, sync ? l->write_sync : l->write_async, wb, &err);
        if (err)
            rc = ldb_error(err);
    }
    if (blobs)
        pthread_mutex_unlock(&l->blob_lock);
    leveldb_writebatch_destroy(wb);
    free(iov);
    free(hash);
    return rc;
}

static struct store_iter *
ldb_iter_new(struct store *s)
{
    struct ldb_store *l = as_ldb(s);
    struct store_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->s = l;
    it->snap = leveldb_create_snapshot(l->db);
    it->read = leveldb_readoptions_create();
    leveldb_readoptions_set_snapshot(it->read, it->snap);
    /* Scans (queries, reports) should not evict the point-lookup working set. */
    leveldb_readoptions_set_fill_cache(it->read, 0);
    /* As for point reads: a damaged block is an error, not data. */
    leveldb_readoptions_set_verify_checksums(it->read, 1);
    it->it = leveldb_create_iterator(l->db, it->read);
    return it;
}

/* Steps over the store's own keys. */
static void
skip_own(struct store_iter *it)
{
    size_t len;
    while (leveldb_iter_valid(it->it)) {
        const char *k = leveldb_iter_key(it->it, &len);
        if (!own_key(k, len))
            break;
        leveldb_iter_next(it->it);
    }
}

/* The iterator moves: a value read from the blob file belonged to the old position. */
static void
moved(struct store_iter *it)
{
    free(it->blob.data);
    it->blob = (struct idl_bytes){0};
    it->blob_held = false;
}

static void
ldb_iter_seek(struct store_iter *it, const uint8_t *key, size_t len)
{
    moved(it);
    leveldb_iter_seek(it->it, (const char *)key, len);
    skip_own(it);
}

static bool
ldb_iter_valid(struct store_iter *it)
{
    return !it->err && leveldb_iter_valid(it->it) != 0;
}

static void
ldb_iter_next(struct store_iter *it)
{
    moved(it);
    leveldb_iter_next(it->it);
    skip_own(it);
}

static const uint8_t *
ldb_iter_key(struct store_iter *it, size_t *len)
{
    return (const uint8_t *)leveldb_iter_key(it->it, len);
}

/* A value that cannot be read (a damaged blob) ends the scan: store_iter_status says why. */
static const uint8_t *
ldb_iter_value(struct store_iter *it, size_t *len)
{
    size_t n;
    const uint8_t *v = (const uint8_t *)leveldb_iter_value(it->it, &n);
    *len = 0;
    if (n >= 1 && v[0] == TAG_INLINE) {
        *len = n - 1;
        return v + 1;
    }
    if (!it->blob_held) {
        it->err = n >= 1 && v[0] == TAG_BLOB ? blob_read(it->s, v, n, &it->blob) : IDL_ERR_CORRUPT;
        it->blob_held = !it->err;
    }
    if (it->err)
        return (const uint8_t *)"";
    *len = it->blob.len;
    return it->blob.data;
}

static idl_err
ldb_iter_status(struct store_iter *it)
{
    if (it->err)
        return it->err;
    char *err = NULL;
    leveldb_iter_get_error(it->it, &err);
    return err ? ldb_error(err) : IDL_OK;
}

static void
ldb_iter_free(struct store_iter *it)
{
    leveldb_iter_destroy(it->it);
    leveldb_readoptions_destroy(it->read);
    leveldb_release_snapshot(it->s->db, it->snap);
    free(it->blob.data);
    free(it);
}

/*
 * LevelDB's "leveldb.stats" is a table, a line per level that has files or has had a
 * compaction: level, files, size (MiB), compaction time (s), read (MiB), written (MiB).
 */
static idl_err
ldb_stats(struct store *s, struct store_stats *out)
{
    struct ldb_store *l = as_ldb(s);
    char *text = leveldb_property_value(l->db, "leveldb.stats");
    if (!text)
        return IDL_ERR_INVALID;
    const double mib = 1048576.0;
    for (char *line = text, *next; line; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0'; /* each line parsed on its own */
        int level;
        unsigned long files;
        double size, seconds, read, written;
        if (sscanf(line, "%d %lu %lf %lf %lf %lf", &level, &files, &size, &seconds, &read,
                   &written) != 6 ||
            level < 0 || level >= STORE_LEVELS)
            continue;
        out->level[level].files = files;
        out->level[level].bytes = (uint64_t)(size * mib);
        out->level[level].compaction_seconds = seconds;
        out->level[level].read_bytes = (uint64_t)(read * mib);
        out->level[level].write_bytes = (uint64_t)(written * mib);
    }
    leveldb_free(text);
    char *memory = leveldb_property_value(l->db, "leveldb.approximate-memory-usage");
    if (memory) {
        out->memory_bytes = strtoull(memory, NULL, 10);
        leveldb_free(memory);
    }
    return IDL_OK;
}

static void
ldb_close(struct store *s)
{
    struct ldb_store *l = as_ldb(s);
    if (l->db)
        leveldb_close(l->db);
    if (l->blob_fd >= 0)
        close(l->blob_fd);
    pthread_mutex_destroy(&l->blob_lock);
    leveldb_options_destroy(l->options);
    leveldb_cache_destroy(l->cache);
    leveldb_filterpolicy_destroy(l->filter);
    leveldb_readoptions_destroy(l->read);
    leveldb_writeoptions_destroy(l->write_sync);
    leveldb_writeoptions_destroy(l->write_async);
    free(l);
}

static const struct store_ops ldb_ops = {
    .get = ldb_get,
    .write = ldb_write,
    .iter_new = ldb_iter_new,
    .iter_seek = ldb_iter_seek,
    .iter_valid = ldb_iter_valid,
    .iter_next = ldb_iter_next,
    .iter_key = ldb_iter_key,
    .iter_value = ldb_iter_value,
    .iter_free = ldb_iter_free,
    .close = ldb_close,
    .iter_status = ldb_iter_status,
    .stats = ldb_stats,
};

static idl_err
open_fail(char *why, size_t why_len, idl_err rc, const char *dir, const char *msg)
{
    if (why && why_len)
        snprintf(why, why_len, "%s: %s", dir, msg);
    return rc;
}

/*
 * The format check, and the blob file's length checked against the end the database
 * recorded. A store with keys but no format is from before tagged values: it cannot be
 * read as this one.
 */
static idl_err
open_check(struct ldb_store *l, const char *dir, char *why, size_t why_len)
{
    char *v;
    size_t n;
    idl_err rc = ldb_get_raw(l, KEY_FORMAT, KEY_LEN(KEY_FORMAT), &v, &n);
    if (rc == IDL_OK) {
        int ok = n == 2 && v[0] == TAG_INLINE && v[1] == FORMAT;
        leveldb_free(v);
        if (!ok)
            return open_fail(why, why_len, IDL_ERR_VERSION, dir,
                             "written by another version of idledger (store format)");
    } else if (rc == IDL_ERR_NOT_FOUND) {
        leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->read);
        leveldb_iter_seek_to_first(it);
        int used = leveldb_iter_valid(it);
        char *err = NULL;
        leveldb_iter_get_error(it, &err);
        leveldb_iter_destroy(it);
        if (err)
            return open_fail(why, why_len, ldb_error(err), dir, "cannot read the store");
        if (used)
            return open_fail(why, why_len, IDL_ERR_VERSION, dir,
                             "written by an older idledger; start it again from genesis");
        const uint8_t fmt[2] = {TAG_INLINE, FORMAT};
        leveldb_put(l->db, l->write_sync, (const char *)KEY_FORMAT, KEY_LEN(KEY_FORMAT),
                    (const char *)fmt, sizeof(fmt), &err);
        if (err)
            return open_fail(why, why_len, ldb_error(err), dir, "cannot write the format");
    } else {
        return open_fail(why, why_len, rc, dir, "cannot read the store's format");
    }

    rc = ldb_get_raw(l, KEY_BLOB_END, KEY_LEN(KEY_BLOB_END), &v, &n);
    if (rc == IDL_OK) {
        rc = n == 9 && v[0] == TAG_INLINE ? IDL_OK : IDL_ERR_CORRUPT;
        l->blob_end = rc ? 0 : codec_be64_get((const uint8_t *)v + 1);
        leveldb_free(v);
    } else if (rc == IDL_ERR_NOT_FOUND) {
        rc = IDL_OK;
    }
    struct stat st;
    if (!rc && fstat(l->blob_fd, &st) != 0)
        rc = IDL_ERR_IO;
    if (rc)
        return open_fail(why, why_len, rc, dir, "cannot read the blob file's end");
    if ((uint64_t)st.st_size < l->blob_end)
        return open_fail(why, why_len, IDL_ERR_CORRUPT, dir,
                         "values.blob is shorter than the database says");
    /* Bytes past the recorded end are the tail of a write whose batch never made it, which
     * nothing points at. They stay (cutting them would be the one destructive step on a
     * store whose end was recorded wrong) and the next value goes after them. */
    l->blob_end = (uint64_t)st.st_size;
    return IDL_OK;
}

idl_err
store_leveldb_open(struct store **out, const char *dir, char *why, size_t why_len)
{
    *out = NULL;
    struct ldb_store *l = calloc(1, sizeof(*l));
    if (!l)
        return IDL_ERR_NOMEM;
    l->base.ops = &ldb_ops;
    l->blob_fd = -1;
    pthread_once(&no_mmap_once, no_mmap); /* the options create the default Env */
    if (sodium_init() < 0) {
        free(l);
        return IDL_ERR_CRYPTO;
    }
    pthread_mutex_init(&l->blob_lock, NULL);
    l->options = leveldb_options_create();
    l->cache = leveldb_cache_create_lru(32 << 20);
    l->filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_create_if_missing(l->options, 1);
    leveldb_options_set_paranoid_checks(l->options, 1);
    leveldb_options_set_cache(l->options, l->cache);
    leveldb_options_set_filter_policy(l->options, l->filter);
    leveldb_options_set_write_buffer_size(l->options, 16 << 20);
    leveldb_options_set_max_file_size(l->options, 8 << 20);
    leveldb_options_set_compression(l->options, leveldb_no_compression);
    l->read = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(l->read, 1);
    l->write_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->write_sync, 1);
    l->write_async = leveldb_writeoptions_create();
    char *err = NULL;
    l->db = leveldb_open(l->options, dir, &err);
    idl_err rc = IDL_OK;
    if (err) {
        /* LevelDB's lock file is held by another process: say so in the operator's words. */
        bool locked = strstr(err, "/LOCK") && (strstr(err, "temporarily unavailable") ||
                                                strstr(err, "already held by process"));
        if (why && why_len && locked)
            snprintf(why, why_len, "%s is in use by another process (another node on this home?)",
                     dir);
        else if (why && why_len)
            snprintf(why, why_len, "%s", err);
        leveldb_free(err);
        rc = IDL_ERR_IO;
    }
    char path[4096];
    if (!rc && (size_t)snprintf(path, sizeof(path), "%s/values.blob", dir) >= sizeof(path))
        rc = open_fail(why, why_len, IDL_ERR_INVALID, dir, "path too long");
    if (!rc && (l->blob_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
        /* A new file's name is made durable before any pointer can name its bytes. */
        l->blob_fd = errno == ENOENT ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
        if (l->blob_fd < 0 || file_sync_dir(path) != IDL_OK)
            rc = open_fail(why, why_len, IDL_ERR_IO, dir, "cannot open values.blob");
    }
    if (!rc)
        rc = open_check(l, dir, why, why_len);
    if (rc) {
        ldb_close(&l->base);
        return rc;
    }
    *out = &l->base;
    return IDL_OK;
}
