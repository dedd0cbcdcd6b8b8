/*
 * Files that must survive a crash: keys, genesis, configuration, token lists.
 *
 * file_write_atomic writes to a temporary file beside the target, fsyncs it, renames it
 * over the target and fsyncs the directory (the Redis dump discipline): after a crash the
 * target holds either the old content or the new, never a mix, and once the call returns
 * the new content is durable.
 */
#ifndef IDL_FILE_H
#define IDL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "codec.h"
#include "err.h"

/* Atomically replaces path with data, created with `mode` (e.g. 0600). IDL_ERR_IO. */
IDL_MUST_USE idl_err file_write_atomic(const char *path, const void *data, size_t len,
                                       mode_t mode);

/*
 * The same, but never replaces: IDL_ERR_EXISTS if path exists, even if it appears while
 * the data is being written (the file is published with link(2), which refuses).
 */
IDL_MUST_USE idl_err file_write_new(const char *path, const void *data, size_t len,
                                    mode_t mode);

/*
 * Reads the whole file (at most max bytes) into out (malloc'd, NUL-terminated for
 * convenience; out->len excludes the NUL). IDL_ERR_NOT_FOUND, IDL_ERR_DENIED (no permission),
 * IDL_ERR_NOT_FILE (a directory, named pipe or device: refused at once, never waited on),
 * IDL_ERR_TOO_LARGE, IDL_ERR_IO.
 */
IDL_MUST_USE idl_err file_read_all(const char *path, size_t max, struct idl_bytes *out);

/*
 * The same, but a named pipe (a shell's <(command)) is read too, to its end, waiting at
 * most timeout_ms for each chunk (IDL_ERR_TIMEOUT): for a passphrase, better not written to
 * a file at all.
 */
IDL_MUST_USE idl_err file_read_piped(const char *path, size_t max, int timeout_ms,
                                     struct idl_bytes *out);

/* fsyncs the directory that contains path. */
IDL_MUST_USE idl_err file_sync_dir(const char *path);

/* mkdir -p with mode; IDL_ERR_IO. */
IDL_MUST_USE idl_err file_mkdirs(const char *dir, mode_t mode);

#endif
