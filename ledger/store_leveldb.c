/*
 * The LevelDB store. Options: a 64 MiB block cache and a bloom filter (most reads are point
 * lookups of records that exist or of keys that do not, such as nonces and uniqueness
 * checks), no compression (sealed personal data and signatures do not compress), paranoid
 * checks so corruption is reported rather than skipped. A write with sync calls fsync on the log before returning,
 * which is the durability of a committed block. Iterators read from a snapshot so a query
 * sees one block's state even while the next one is being written.
 *
 * Tables are read with pread, not through memory maps. LevelDB maps up to 1,000 table files
 * by default, and every page a read or a compaction touches then stays counted in the
 * node's resident memory: some 300 MB of a 1,000,000-identity chain, on top of the heap.
 * Read with pread, the blocks go through the block cache, which is bounded, and the files
 * through the kernel's page cache, which is not the node's. The C API has no option for
 * this; the switch is LevelDB's EnvPosixTestHelper::SetReadOnlyMMapLimit, which is why the
 * build links LevelDB statically (the shared library does not export it).
 */
#include "store.h"

#include <leveldb/c.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* leveldb::EnvPosixTestHelper::SetReadOnlyMMapLimit(int): before the default Env exists. */
extern void leveldb_set_mmap_limit(int limit) __asm__(
    "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi");

static pthread_once_t no_mmap_once = PTHREAD_ONCE_INIT;

static void
no_mmap(void)
{
    leveldb_set_mmap_limit(0);
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
};

struct store_iter {
    struct ldb_store *s;
    leveldb_iterator_t *it;
    const leveldb_snapshot_t *snap;
    leveldb_readoptions_t *read;
};

static struct ldb_store *
as_ldb(struct store *s)
{
    return (struct ldb_store *)s;
}

static idl_err
ldb_get(struct store *s, const uint8_t *key, size_t key_len, struct idl_bytes *val)
{
    struct ldb_store *l = as_ldb(s);
    char *err = NULL;
    size_t n = 0;
    char *v = leveldb_get(l->db, l->read, (const char *)key, key_len, &n, &err);
    if (err) {
        leveldb_free(err);
        return IDL_ERR_IO;
    }
    if (!v)
        return IDL_ERR_NOT_FOUND;
    /* Copy into malloc memory so callers free with free(), whatever LevelDB allocates with. */
    val->data = malloc(n ? n : 1);
    if (!val->data) {
        leveldb_free(v);
        return IDL_ERR_NOMEM;
    }
    memcpy(val->data, v, n);
    val->len = n;
    leveldb_free(v);
    return IDL_OK;
}

static idl_err
ldb_write(struct store *s, const struct store_batch *b, bool sync)
{
    struct ldb_store *l = as_ldb(s);
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    for (size_t i = 0; i < b->count; i++) {
        const struct store_op *op = &b->ops[i];
        if (op->val)
            leveldb_writebatch_put(wb, (const char *)op->key, op->key_len, (const char *)op->val,
                                   op->val_len);
        else
            leveldb_writebatch_delete(wb, (const char *)op->key, op->key_len);
    }
    char *err = NULL;
    leveldb_write(l->db, sync ? l->write_sync : l->write_async, wb, &err);
    leveldb_writebatch_destroy(wb);
    if (err) {
        leveldb_free(err);
        return IDL_ERR_IO;
    }
    return IDL_OK;
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

static void
ldb_iter_seek(struct store_iter *it, const uint8_t *key, size_t len)
{
    leveldb_iter_seek(it->it, (const char *)key, len);
}

static bool
ldb_iter_valid(struct store_iter *it)
{
    return leveldb_iter_valid(it->it) != 0;
}

static void
ldb_iter_next(struct store_iter *it)
{
    leveldb_iter_next(it->it);
}

static const uint8_t *
ldb_iter_key(struct store_iter *it, size_t *len)
{
    return (const uint8_t *)leveldb_iter_key(it->it, len);
}

static const uint8_t *
ldb_iter_value(struct store_iter *it, size_t *len)
{
    return (const uint8_t *)leveldb_iter_value(it->it, len);
}

/* LevelDB's Status text starts with its code: "Corruption: ...", "IO error: ...". */
static idl_err
ldb_error(char *err)
{
    idl_err rc = strncmp(err, "Corruption", 10) == 0 ? IDL_ERR_CORRUPT : IDL_ERR_IO;
    leveldb_free(err);
    return rc;
}

static idl_err
ldb_iter_status(struct store_iter *it)
{
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
    free(it);
}

static void
ldb_close(struct store *s)
{
    struct ldb_store *l = as_ldb(s);
    if (l->db)
        leveldb_close(l->db);
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
};

idl_err
store_leveldb_open(struct store **out, const char *dir, char *why, size_t why_len)
{
    *out = NULL;
    struct ldb_store *l = calloc(1, sizeof(*l));
    if (!l)
        return IDL_ERR_NOMEM;
    l->base.ops = &ldb_ops;
    pthread_once(&no_mmap_once, no_mmap); /* the options create the default Env */
    l->options = leveldb_options_create();
    l->cache = leveldb_cache_create_lru(64 << 20);
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
    if (err) {
        if (why && why_len)
            snprintf(why, why_len, "%s", err);
        leveldb_free(err);
        ldb_close(&l->base);
        return IDL_ERR_IO;
    }
    *out = &l->base;
    return IDL_OK;
}
