/*
 * File-backed write-ahead log (see wal.h). Appends use one writev of header and payload
 * per record, then a batch-end record, then fdatasync: the batch's commit point. The file
 * is opened O_APPEND so that a replayed-and-truncated file continues where the last intact
 * record ended.
 */
#include "wal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ledger/codec.h"
#include "ledger/file.h"
#include "ledger/hash.h"

struct wal {
    int fd;
    char path[4096];
};

/*
 * The record that closes each batch: END_MAGIC, then the u64 offset where the batch began.
 * A consensus record starts with its kind (1 to 3), never 0xff, so none reads as one.
 */
#define END_MAGIC     "\xff\x45\x4e\x44" /* 0xff "END" */
#define END_MAGIC_LEN 4
#define END_LEN       (END_MAGIC_LEN + 8)

static bool
is_end(const uint8_t *rec, size_t len)
{
    return len == END_LEN && memcmp(rec, END_MAGIC, END_MAGIC_LEN) == 0;
}

void
wal_frame_header(uint8_t header[12], const uint8_t *rec, size_t len)
{
    uint8_t h[HASH_BYTES];
    hash_sha256(h, rec, len);
    codec_be32_put(header, (uint32_t)len);
    memcpy(header + 4, h, 8);
}

idl_err
wal_open(struct wal **out, const char *path)
{
    *out = NULL;
    struct wal *w = calloc(1, sizeof(*w));
    if (!w)
        return IDL_ERR_NOMEM;
    snprintf(w->path, sizeof(w->path), "%s", path);
    w->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        free(w);
        return IDL_ERR_IO;
    }
    /* A new file must survive a crash too: its directory entry is synced once. */
    if (file_sync_dir(path) != IDL_OK) {
        close(w->fd);
        free(w);
        return IDL_ERR_IO;
    }
    *out = w;
    return IDL_OK;
}

void
wal_close(struct wal *w)
{
    if (!w)
        return;
    close(w->fd);
    free(w);
}

/* Writes one framed record without syncing. */
static idl_err
write_record(struct wal *w, const uint8_t *rec, size_t len)
{
    if (len > WAL_RECORD_MAX)
        return IDL_ERR_TOO_LARGE;
    uint8_t header[12];
    wal_frame_header(header, rec, len);
    struct iovec iov[2] = {{header, sizeof(header)}, {(void *)(uintptr_t)rec, len}};
    size_t want = sizeof(header) + len, done = 0;
    while (done < want) {
        ssize_t n = writev(w->fd, iov, 2);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return IDL_ERR_IO;
        done += (size_t)n;
        /* Advance the iovecs past what was written (rare: a short write). */
        size_t k = (size_t)n;
        for (int i = 0; i < 2; i++) {
            size_t take = k < iov[i].iov_len ? k : iov[i].iov_len;
            iov[i].iov_base = (uint8_t *)iov[i].iov_base + take;
            iov[i].iov_len -= take;
            k -= take;
        }
    }
    return IDL_OK;
}

idl_err
wal_append(struct wal *w, const uint8_t *rec, size_t len)
{
    struct idl_bytes one = {(uint8_t *)(uintptr_t)rec, len};
    return wal_append_many(w, &one, 1);
}

idl_err
wal_append_many(struct wal *w, const struct idl_bytes *recs, size_t n)
{
    off_t start = lseek(w->fd, 0, SEEK_END);
    if (start < 0)
        return IDL_ERR_IO;
    for (size_t i = 0; i < n; i++) {
        idl_err rc = write_record(w, recs[i].data, recs[i].len);
        if (rc)
            return rc;
    }
    uint8_t end[END_LEN];
    memcpy(end, END_MAGIC, END_MAGIC_LEN);
    codec_be64_put(end + END_MAGIC_LEN, (uint64_t)start);
    idl_err rc = write_record(w, end, sizeof(end));
    if (rc)
        return rc;
    /* The commit point of the records: nothing they describe leaves before this returns. */
    return fdatasync(w->fd) == 0 ? IDL_OK : IDL_ERR_IO;
}

size_t
wal_size(struct wal *w)
{
    struct stat st;
    return fstat(w->fd, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Whether a complete record with a good checksum starts at off of the n bytes at p. */
static bool
record_intact(const uint8_t *p, size_t n, size_t off, size_t *len_out)
{
    if (n - off < 12)
        return false;
    uint32_t len = codec_be32_get(p + off);
    if (len > WAL_RECORD_MAX || len > n - off - 12)
        return false;
    uint8_t header[12];
    wal_frame_header(header, p + off + 12, len);
    *len_out = len;
    return memcmp(header + 4, p + off + 4, 8) == 0;
}

/*
 * Whether an intact batch-end record starts anywhere at or after off: a batch that was
 * synced, after the damage. Found by its fixed length and magic, then its checksum (a
 * chance match of all three is negligible), not by walking lengths that may be damaged.
 */
static bool
end_after(const uint8_t *p, size_t n, size_t off)
{
    static const uint8_t len_be[4] = {0, 0, 0, END_LEN};
    for (size_t at = off; n >= 12 + END_LEN && at <= n - 12 - END_LEN; at++) {
        size_t len;
        if (memcmp(p + at, len_be, 4) == 0 && memcmp(p + at + 12, END_MAGIC, END_MAGIC_LEN) == 0 &&
            record_intact(p, n, at, &len) && codec_be64_get(p + at + 12 + END_MAGIC_LEN) <= at)
            return true;
    }
    return false;
}

idl_err
wal_replay(struct wal *w, wal_fn fn, void *arg, struct wal_replayed *out)
{
    memset(out, 0, sizeof(*out));
    struct idl_bytes all;
    idl_err rc = file_read_all(w->path, (size_t)1 << 31, &all);
    if (rc)
        return rc;
    size_t off = 0, len;
    while (off < all.len && record_intact(all.data, all.len, off, &len)) {
        if (!is_end(all.data + off + 12, len)) {
            fn(arg, all.data + off + 12, len);
            out->records++;
        }
        off += 12 + len;
    }
    out->cut_at = off;
    /* Past the first record that is not intact: the last batch, torn by a crash before its
     * sync (nothing in it was sent), unless a later batch was closed; then the file was
     * damaged where it had been synced, and cutting it would let the node vote again,
     * differently, in a round whose vote may have gone out. */
    bool damaged = off < all.len && end_after(all.data, all.len, off);
    size_t total = all.len;
    free(all.data);
    if (off == total)
        return IDL_OK;
    if (damaged)
        return IDL_ERR_CORRUPT;
    out->cut_bytes = total - off;
    if (ftruncate(w->fd, (off_t)off) != 0 || fdatasync(w->fd) != 0)
        return IDL_ERR_IO;
    return IDL_OK;
}

idl_err
wal_reset(struct wal *w)
{
    if (ftruncate(w->fd, 0) != 0 || fdatasync(w->fd) != 0)
        return IDL_ERR_IO;
    return IDL_OK;
}
