/*
 * The ledger's storage interface: an ordered key-value store with atomic batches.
 *
 * Everything the ledger keeps goes through this interface, so tests can slide a store
 * under the ledger that loses or garbles unsynced writes, and the simulator can run many
 * nodes in memory. Implementations: LevelDB (store_leveldb_open) and memory
 * (store_memory_open, for tests).
 *
 * Keys are compared bytewise (memcmp, shorter first on a tie), as LevelDB's default
 * comparator does. The LevelDB store keeps two keys of its own, which start with three 0xff
 * bytes ("\xff\xff\xffstore/..."): a batch that writes one is refused with IDL_ERR_INVALID.
 * A batch is applied atomically: after a crash either all of it is there or none. With sync,
 * store_write returns only once the batch is on stable storage: that is the commit point of a
 * block.
 *
 * Thread safety: store_get, iterators and store_write may be called from several threads
 * at once (LevelDB allows it; the memory store takes a lock). A batch belongs to one thread.
 */
#ifndef IDL_STORE_H
#define IDL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

struct store;
struct store_iter;
struct store_stats;

/* One put or delete in a batch. */
struct store_op {
    uint8_t *key;
    size_t key_len;
    uint8_t *val; /* NULL for a delete */
    size_t val_len;
};

struct store_batch {
    struct store_op *ops;
    size_t count, cap;
    size_t bytes; /* keys and values, for size bounds */
};

struct store_ops {
    idl_err (*get)(struct store *s, const uint8_t *key, size_t key_len, struct idl_bytes *val);
    idl_err (*write)(struct store *s, const struct store_batch *b, bool sync);
    struct store_iter *(*iter_new)(struct store *s);
    void (*iter_seek)(struct store_iter *it, const uint8_t *key, size_t key_len);
    bool (*iter_valid)(struct store_iter *it);
    void (*iter_next)(struct store_iter *it);
    const uint8_t *(*iter_key)(struct store_iter *it, size_t *len);
    const uint8_t *(*iter_value)(struct store_iter *it, size_t *len);
    void (*iter_free)(struct store_iter *it);
    void (*close)(struct store *s);
    /* Why the iterator stopped, if it failed; NULL for a store whose iterators cannot fail. */
    idl_err (*iter_status)(struct store_iter *it);
    /* What the store reports of its own work; NULL for a store with nothing to report. */
    idl_err (*stats)(struct store *s, struct store_stats *out);
};

/*
 * LevelDB's own account of its levels, and of its compactions since the store was opened
 * (they start from zero at each open): from its "leveldb.stats" property, which counts in
 * whole MiB and whole seconds of elapsed time (I/O included). A memtable written out counts
 * at the level it lands in, 0 to 2. memory_bytes: what its memtables and block cache hold.
 */
#define STORE_LEVELS 7
struct store_stats {
    struct {
        uint64_t files, bytes;            /* tables at the level now, and their size */
        double compaction_seconds;        /* compactions that wrote into the level */
        uint64_t read_bytes, write_bytes; /* what those compactions read and wrote */
    } level[STORE_LEVELS];
    uint64_t memory_bytes;
};

/* Every implementation's handle starts with this. */
struct store {
    const struct store_ops *ops;
};

/*
 * Opens (creating if missing) a LevelDB database in dir. IDL_ERR_IO with a message in
 * why (may be NULL) if LevelDB refuses, e.g. because another process holds the lock.
 */
IDL_MUST_USE idl_err store_leveldb_open(struct store **out, const char *dir, char *why,
                                        size_t why_len);

/* An empty in-memory store. */
IDL_MUST_USE idl_err store_memory_open(struct store **out);

void store_close(struct store *s);

/* Reads key into val (caller frees val->data). IDL_ERR_NOT_FOUND if absent. */
IDL_MUST_USE idl_err store_get(struct store *s, const uint8_t *key, size_t key_len,
                               struct idl_bytes *val);

/* Applies b atomically; with sync, durably. The batch is not consumed. */
IDL_MUST_USE idl_err store_write(struct store *s, const struct store_batch *b, bool sync);

/*
 * Iterators see a consistent snapshot taken at store_iter_new. NULL on allocation failure.
 * An iterator that meets an error (a block that fails its checksum, a read that fails)
 * becomes invalid as if it had reached the end: every scan must ask store_iter_status once
 * it stops, or it takes a damaged store for a short one.
 */
struct store_iter *store_iter_new(struct store *s);
void store_iter_seek(struct store *s, struct store_iter *it, const uint8_t *key, size_t len);
bool store_iter_valid(struct store *s, struct store_iter *it);
void store_iter_next(struct store *s, struct store_iter *it);
/* Views valid until the iterator moves. */
const uint8_t *store_iter_key(struct store *s, struct store_iter *it, size_t *len);
const uint8_t *store_iter_value(struct store *s, struct store_iter *it, size_t *len);
void store_iter_free(struct store *s, struct store_iter *it);
/* IDL_OK, or why the iterator stopped early: IDL_ERR_CORRUPT (damaged data), IDL_ERR_IO. */
IDL_MUST_USE idl_err store_iter_status(struct store *s, struct store_iter *it);

/*
 * Fills out (zeroed first, whatever the answer). IDL_ERR_INVALID for a store that keeps no
 * statistics (the in-memory one), which is not an error to report.
 */
IDL_MUST_USE idl_err store_stats(struct store *s, struct store_stats *out);

void store_batch_init(struct store_batch *b);
/* Copies key and value into the batch. IDL_ERR_NOMEM on failure (the batch is unchanged). */
IDL_MUST_USE idl_err store_batch_put(struct store_batch *b, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len);
IDL_MUST_USE idl_err store_batch_del(struct store_batch *b, const uint8_t *key, size_t key_len);
/*
 * Moves a malloc'd key and value (NULL: a delete) into the batch, which frees them. On
 * IDL_ERR_NOMEM they stay the caller's and the batch is unchanged.
 */
IDL_MUST_USE idl_err store_batch_take(struct store_batch *b, uint8_t *key, size_t key_len,
                                      uint8_t *val, size_t val_len);
void store_batch_free(struct store_batch *b);

/* memcmp order with the shorter key first on a common prefix (LevelDB's default). */
int store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
