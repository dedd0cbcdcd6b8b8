/*
 * The consensus write-ahead log: what a restarted validator must not forget.
 *
 * A record is u32 length | 8-byte checksum (the first 8 bytes of SHA-256 of the payload)
 * | payload. wal_append writes a record and fdatasyncs before returning: the caller sends
 * the vote or proposal it recorded only after that, so after any crash the log holds every
 * message that ever left the node. Each batch of records (wal_append_many) ends with a
 * batch-end record before the sync. Replay reads records in order and stops at the first
 * one that is incomplete or fails its checksum. If no intact batch-end record comes after
 * it anywhere, that is the last batch, torn by the crash before its sync (by the rule
 * above, nothing in it was sent), and the file is cut there; if one does, the file was
 * damaged where it had been synced, and replay refuses. A log written before batch-end
 * records existed has none: damage in it reads as a tear.
 *
 * The log only matters for the height being decided: once a block is committed to the
 * ledger, wal_reset empties it.
 */
#ifndef IDL_CONS_WAL_H
#define IDL_CONS_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/codec.h"
#include "ledger/err.h"

#define WAL_RECORD_MAX (40u * 1024 * 1024)

struct wal;

IDL_MUST_USE idl_err wal_open(struct wal **out, const char *path);
void wal_close(struct wal *w);

/* Appends one record durably (written and fdatasync'd). IDL_ERR_IO, IDL_ERR_TOO_LARGE. */
IDL_MUST_USE idl_err wal_append(struct wal *w, const uint8_t *rec, size_t len);

/* Appends n records and a batch-end record, then syncs once: all are durable when it
 * returns. */
IDL_MUST_USE idl_err wal_append_many(struct wal *w, const struct idl_bytes *recs, size_t n);

/* The log's size in bytes (0 on error). */
size_t wal_size(struct wal *w);

/* What a replay found. */
struct wal_replayed {
    size_t records;   /* intact records replayed */
    size_t cut_at;    /* the offset of the first record that is not intact (the end if none) */
    size_t cut_bytes; /* bytes of a torn tail cut off there (0: none) */
};

/*
 * Calls fn for each intact record, in order (not the batch-end records). What follows the
 * last intact record is a torn last batch, cut off (out->cut_bytes), unless an intact
 * batch-end record comes after it: that is damage to records that were synced, and their
 * messages may have been sent, so nothing is cut and IDL_ERR_CORRUPT is returned
 * (out->cut_at says where).
 */
typedef void (*wal_fn)(void *arg, const uint8_t *rec, size_t len);
IDL_MUST_USE idl_err wal_replay(struct wal *w, wal_fn fn, void *arg, struct wal_replayed *out);

/* Empties the log durably. */
IDL_MUST_USE idl_err wal_reset(struct wal *w);

/* Frames a record into buf (12 header bytes + len) for in-memory logs and tests. */
void wal_frame_header(uint8_t header[12], const uint8_t *rec, size_t len);

#endif
