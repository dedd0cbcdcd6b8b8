/*
 * Durable file writes and bounded reads. The temporary file is opened with O_EXCL and a
 * name unique to the process, so two writers never share one, and removed on any failure.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

idl_err
file_sync_dir(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return IDL_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? IDL_OK : IDL_ERR_IO;
}

static int
write_full(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes data to a fresh temporary file beside path, synced; its name goes to tmp. */
static idl_err
write_temp(char tmp[PATH_MAX], const char *path, const void *data, size_t len, mode_t mode)
{
    if (snprintf(tmp, PATH_MAX, "%s.tmp.%ld", path, (long)getpid()) >= PATH_MAX)
        return IDL_ERR_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return IDL_ERR_IO;
    /* The umask may have narrowed the mode; secrets want exactly what was asked. */
    int bad = fchmod(fd, mode) != 0 || write_full(fd, data, len) != 0 || fsync(fd) != 0;
    bad |= close(fd) != 0;
    if (bad) {
        unlink(tmp);
        return IDL_ERR_IO;
    }
    return IDL_OK;
}

idl_err
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    idl_err rc = write_temp(tmp, path, data, len, mode);
    if (rc)
        return rc;
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return IDL_ERR_IO;
    }
    /* The rename is the commit point; syncing the directory makes it durable. */
    return file_sync_dir(path);
}

idl_err
file_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    idl_err rc = write_temp(tmp, path, data, len, mode);
    if (rc)
        return rc;
    /* link(2) is the commit point: it fails, rather than replaces, if path exists. */
    int lrc = link(tmp, path), lerr = errno;
    unlink(tmp);
    if (lrc != 0)
        return lerr == EEXIST ? IDL_ERR_EXISTS : IDL_ERR_IO;
    return file_sync_dir(path);
}

/*
 * Reads path whole into out: a regular file, or with pipe_ms >= 0 a named pipe too, until
 * its writer closes it, waiting at most pipe_ms for each chunk.
 */
static idl_err
read_whole(const char *path, size_t max, int pipe_ms, struct idl_bytes *out)
{
    memset(out, 0, sizeof(*out));
    /* Non-blocking: opening a named pipe would otherwise wait for a writer, for ever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT                     ? IDL_ERR_NOT_FOUND
               : errno == EACCES || errno == EPERM ? IDL_ERR_DENIED
                                                   : IDL_ERR_IO;
    struct stat st;
    bool pipe = false;
    idl_err rc = IDL_OK;
    if (fstat(fd, &st) != 0)
        rc = IDL_ERR_IO;
    else if (S_ISFIFO(st.st_mode) && pipe_ms >= 0)
        pipe = true;
    else if (!S_ISREG(st.st_mode))
        rc = IDL_ERR_NOT_FILE;
    else if ((size_t)st.st_size > max)
        rc = IDL_ERR_TOO_LARGE;
    /* A file is read up to the size fstat gave (one that grows meanwhile is cut there); a
     * pipe up to max, and one byte more tells it was longer. */
    size_t cap = (pipe ? max + 1 : (size_t)st.st_size) + 1, len = 0;
    uint8_t *buf = rc ? NULL : malloc(cap);
    if (!rc && !buf)
        rc = IDL_ERR_NOMEM;
    while (!rc && len < cap - 1) {
        if (pipe) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int ready = poll(&pfd, 1, pipe_ms);
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready <= 0) {
                rc = ready == 0 ? IDL_ERR_TIMEOUT : IDL_ERR_IO;
                break;
            }
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = IDL_ERR_IO;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!rc && pipe && len > max)
        rc = IDL_ERR_TOO_LARGE;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    return IDL_OK;
}

idl_err
file_read_all(const char *path, size_t max, struct idl_bytes *out)
{
    return read_whole(path, max, -1, out);
}

idl_err
file_read_piped(const char *path, size_t max, int timeout_ms, struct idl_bytes *out)
{
    IDL_ASSERT(timeout_ms >= 0);
    return read_whole(path, max, timeout_ms, out);
}

/* mkdir that accepts an existing directory, and only a directory. */
static int
mkdir_one(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0)
        return 0;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return -1;
}

idl_err
file_mkdirs(const char *dir, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
        return IDL_ERR_IO;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir_one(buf, mode) != 0)
            return IDL_ERR_IO;
        *p = '/';
    }
    return mkdir_one(buf, mode) == 0 ? IDL_OK : IDL_ERR_IO;
}
