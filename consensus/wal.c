/*
 * File-backed write-ahead log (see wal.h). Appends use one writev of header and payload,
 * then fdatasync: the record's commit point. The file is opened O_APPEND so that a
 * replayed-and-truncated file continues where the last intact record ended.
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
    for (size_t i = 0; i < n; i++) {
        idl_err rc = write_record(w, recs[i].data, recs[i].len);
        if (rc)
            return rc;
    }
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
        fn(arg, all.data + off + 12, len);
        off += 12 + len;
        out->records++;
    }
    out->cut_at = off;
    if (off == all.len) {
        free(all.data);
        return IDL_OK;
    }
    /* A bad record whose length still holds, followed by a good one, is damage, not a torn
     * last write: records after it were synced, and their votes may have been sent. Cutting
     * them would let the node vote again differently; it must not start. */
    uint32_t bad_len = all.len - off >= 12 ? codec_be32_get(all.data + off) : 0;
    size_t next = off + 12 + (size_t)bad_len, next_len;
    bool damaged = all.len - off >= 12 && bad_len <= WAL_RECORD_MAX &&
                   next <= all.len && record_intact(all.data, all.len, next, &next_len);
    size_t total = all.len;
    free(all.data);
    if (damaged)
        return IDL_ERR_CORRUPT;
    /* A torn tail: cut it, so the next append starts on a record boundary. */
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
