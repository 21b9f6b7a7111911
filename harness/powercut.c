/* An LD_PRELOAD shim that journals every change a process makes under POWERCUT_ROOT, and
 * every sync, to POWERCUT_LOG; harness/powercut.py replays the journal to work out what a
 * power cut at the end would have left on disk (only what was synced).
 *
 * One record per call, written with one write(2) to a file opened O_APPEND, after the call
 * succeeded: a text header line, then for writes the bytes written.
 *   W pid ino offset len\n<bytes>     write, pwrite, writev
 *   C pid ino created trunc\tpath\n   open/openat that created or truncated a file
 *   T pid ino len\n                   ftruncate / truncate
 *   A pid ino offset len\n            posix_fallocate
 *   R pid\tsrc\tdst\n                 rename, renameat
 *   L pid\told\tnew\n                 link, linkat
 *   U pid\tpath\n                     unlink, unlinkat, rmdir
 *   M pid ino\tpath\n                 mkdir, mkdirat
 *   F pid ino isdir\tpath\n           fsync, fdatasync (of a file or a folder)
 *   S pid\n                           syncfs, sync
 *   X pid what\tpath\n                a change the replay cannot model (it fails loudly)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char root[PATH_MAX];
static size_t root_len;
static int log_fd = -1;

#define REAL(name) static __typeof__(name) *real_##name
REAL(open64); REAL(openat64); REAL(open); REAL(openat);
REAL(write); REAL(pwrite64); REAL(writev);
REAL(rename); REAL(renameat);
REAL(unlink); REAL(unlinkat); REAL(rmdir);
REAL(mkdir); REAL(mkdirat);
REAL(link); REAL(linkat);
REAL(ftruncate64); REAL(truncate64);
REAL(fsync); REAL(fdatasync); REAL(syncfs); REAL(sync);
REAL(posix_fallocate64);
REAL(copy_file_range); REAL(sendfile64);
REAL(mmap64);

#define LOAD(name) real_##name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void init(void) {
    LOAD(open64); LOAD(openat64); LOAD(open); LOAD(openat);
    LOAD(write); LOAD(pwrite64); LOAD(writev);
    LOAD(rename); LOAD(renameat);
    LOAD(unlink); LOAD(unlinkat); LOAD(rmdir);
    LOAD(mkdir); LOAD(mkdirat);
    LOAD(link); LOAD(linkat);
    LOAD(ftruncate64); LOAD(truncate64);
    LOAD(fsync); LOAD(fdatasync); LOAD(syncfs); LOAD(sync);
    LOAD(posix_fallocate64);
    LOAD(copy_file_range); LOAD(sendfile64);
    LOAD(mmap64);
    const char *r = getenv("POWERCUT_ROOT"), *l = getenv("POWERCUT_LOG");
    if (!r || !l || !realpath(r, root)) return;
    root_len = strlen(root);
    log_fd = real_open64(l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static int under_root(const char *path) {
    return log_fd >= 0 && strncmp(path, root, root_len) == 0 &&
           (path[root_len] == '/' || path[root_len] == '\0');
}

/* the absolute path of `fd`, or "" */
static void fd_path(int fd, char *out) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    out[n > 0 ? n : 0] = '\0';
}

/* `path` made absolute against `dirfd` (AT_FDCWD: the working directory) */
static void abs_path(int dirfd, const char *path, char *out) {
    if (path[0] == '/') {
        snprintf(out, PATH_MAX, "%s", path);
        return;
    }
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof base)) base[0] = '\0';
    } else {
        fd_path(dirfd, base);
    }
    snprintf(out, PATH_MAX, "%s/%s", base, path);
}

static void emit(const char *head, size_t head_len, const void *data, size_t len) {
    char *buf = malloc(head_len + len);
    if (!buf) abort();
    memcpy(buf, head, head_len);
    if (len) memcpy(buf + head_len, data, len);
    int saved = errno;
    if (real_write(log_fd, buf, head_len + len) != (ssize_t)(head_len + len)) abort();
    errno = saved;
    free(buf);
}

static void record(const char *fmt, ...) {
    char head[3 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    emit(head, (size_t)n, NULL, 0);
}

/* the inode of `fd` if it is a file under the root, else 0 */
static unsigned long tracked(int fd, char *path) {
    if (log_fd < 0 || fd < 0 || fd == log_fd) return 0;
    fd_path(fd, path);
    if (!under_root(path)) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    return (unsigned long)st.st_ino;
}

static void wrote(int fd, off_t offset, const void *data, size_t len) {
    char path[PATH_MAX];
    unsigned long ino = tracked(fd, path);
    if (!ino) return;
    char head[128];
    int n = snprintf(head, sizeof head, "W %d %lu %lld %zu\n", getpid(), ino,
                     (long long)offset, len);
    emit(head, (size_t)n, data, len);
}

static int opened(int dirfd, const char *path, int flags, mode_t mode, int at, int large) {
    char full[PATH_MAX];
    int existed = 1;
    if (log_fd >= 0 && (flags & (O_CREAT | O_TRUNC))) {
        abs_path(dirfd, path, full);
        struct stat st;
        existed = lstat(full, &st) == 0;
    }
    int fd;
    if (at)
        fd = large ? real_openat64(dirfd, path, flags, mode) : real_openat(dirfd, path, flags, mode);
    else
        fd = large ? real_open64(path, flags, mode) : real_open(path, flags, mode);
    if (fd >= 0 && log_fd >= 0 && (flags & (O_CREAT | O_TRUNC)) && under_root(full)) {
        struct stat st;
        fstat(fd, &st);
        int created = !existed, trunc = existed && (flags & O_TRUNC) && (flags & O_ACCMODE);
        if (created || trunc)
            record("C %d %lu %d %d\t%s\n", getpid(), (unsigned long)st.st_ino, created, trunc,
                   full);
    }
    return fd;
}

#define MODE_ARG                                  \
    mode_t mode = 0;                              \
    if (flags & (O_CREAT | O_TMPFILE)) {          \
        va_list ap;                               \
        va_start(ap, flags);                      \
        mode = (mode_t)va_arg(ap, int);           \
        va_end(ap);                               \
    }

int open64(const char *path, int flags, ...) { MODE_ARG return opened(AT_FDCWD, path, flags, mode, 0, 1); }
int open(const char *path, int flags, ...) { MODE_ARG return opened(AT_FDCWD, path, flags, mode, 0, 0); }
int openat64(int d, const char *path, int flags, ...) { MODE_ARG return opened(d, path, flags, mode, 1, 1); }
int openat(int d, const char *path, int flags, ...) { MODE_ARG return opened(d, path, flags, mode, 1, 0); }

ssize_t write(int fd, const void *buf, size_t len) {
    ssize_t n = real_write(fd, buf, len);
    if (n > 0 && log_fd >= 0 && fd != log_fd) {
        off_t end = lseek(fd, 0, SEEK_CUR);
        if (end >= 0) wrote(fd, end - n, buf, (size_t)n);
    }
    return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t offset) {
    ssize_t n = real_pwrite64(fd, buf, len, offset);
    if (n > 0) wrote(fd, offset, buf, (size_t)n);
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    ssize_t n = real_writev(fd, iov, count);
    if (n > 0 && log_fd >= 0) {
        off_t end = lseek(fd, 0, SEEK_CUR);
        if (end < 0) return n;
        char *all = malloc((size_t)n);
        size_t at = 0;
        for (int i = 0; i < count && at < (size_t)n; i++) {
            size_t take = iov[i].iov_len < (size_t)n - at ? iov[i].iov_len : (size_t)n - at;
            memcpy(all + at, iov[i].iov_base, take);
            at += take;
        }
        wrote(fd, end - n, all, (size_t)n);
        free(all);
    }
    return n;
}

static void renamed(int sd, const char *src, int dd, const char *dst) {
    char a[PATH_MAX], b[PATH_MAX];
    abs_path(sd, src, a);
    abs_path(dd, dst, b);
    if (under_root(a) || under_root(b)) record("R %d\t%s\t%s\n", getpid(), a, b);
}

int rename(const char *src, const char *dst) {
    int r = real_rename(src, dst);
    if (r == 0 && log_fd >= 0) renamed(AT_FDCWD, src, AT_FDCWD, dst);
    return r;
}

int renameat(int sd, const char *src, int dd, const char *dst) {
    int r = real_renameat(sd, src, dd, dst);
    if (r == 0 && log_fd >= 0) renamed(sd, src, dd, dst);
    return r;
}

static void removed(int dirfd, const char *path) {
    char a[PATH_MAX];
    abs_path(dirfd, path, a);
    if (under_root(a)) record("U %d\t%s\n", getpid(), a);
}

int unlink(const char *path) {
    int r = real_unlink(path);
    if (r == 0 && log_fd >= 0) removed(AT_FDCWD, path);
    return r;
}

int unlinkat(int d, const char *path, int flags) {
    int r = real_unlinkat(d, path, flags);
    if (r == 0 && log_fd >= 0) removed(d, path);
    return r;
}

int rmdir(const char *path) {
    int r = real_rmdir(path);
    if (r == 0 && log_fd >= 0) removed(AT_FDCWD, path);
    return r;
}

static void made_dir(int dirfd, const char *path) {
    char a[PATH_MAX];
    abs_path(dirfd, path, a);
    struct stat st;
    if (under_root(a) && lstat(a, &st) == 0)
        record("M %d %lu\t%s\n", getpid(), (unsigned long)st.st_ino, a);
}

int mkdir(const char *path, mode_t mode) {
    int r = real_mkdir(path, mode);
    if (r == 0 && log_fd >= 0) made_dir(AT_FDCWD, path);
    return r;
}

int mkdirat(int d, const char *path, mode_t mode) {
    int r = real_mkdirat(d, path, mode);
    if (r == 0 && log_fd >= 0) made_dir(d, path);
    return r;
}

static void linked(int od, const char *old, int nd, const char *new) {
    char a[PATH_MAX], b[PATH_MAX];
    abs_path(od, old, a);
    abs_path(nd, new, b);
    if (under_root(b)) record("L %d\t%s\t%s\n", getpid(), a, b);
}

int link(const char *old, const char *new) {
    int r = real_link(old, new);
    if (r == 0 && log_fd >= 0) linked(AT_FDCWD, old, AT_FDCWD, new);
    return r;
}

int linkat(int od, const char *old, int nd, const char *new, int flags) {
    int r = real_linkat(od, old, nd, new, flags);
    if (r == 0 && log_fd >= 0) linked(od, old, nd, new);
    return r;
}

int ftruncate64(int fd, off_t len) {
    int r = real_ftruncate64(fd, len);
    char path[PATH_MAX];
    unsigned long ino;
    if (r == 0 && (ino = tracked(fd, path)))
        record("T %d %lu %lld\n", getpid(), ino, (long long)len);
    return r;
}

int truncate64(const char *path, off_t len) {
    int r = real_truncate64(path, len);
    char a[PATH_MAX];
    struct stat st;
    if (r == 0 && log_fd >= 0) {
        abs_path(AT_FDCWD, path, a);
        if (under_root(a) && stat(a, &st) == 0)
            record("T %d %lu %lld\n", getpid(), (unsigned long)st.st_ino, (long long)len);
    }
    return r;
}

int posix_fallocate64(int fd, off_t offset, off_t len) {
    int r = real_posix_fallocate64(fd, offset, len);
    char path[PATH_MAX];
    unsigned long ino;
    if (r == 0 && (ino = tracked(fd, path)))
        record("A %d %lu %lld %lld\n", getpid(), ino, (long long)offset, (long long)len);
    return r;
}

static void synced(int fd) {
    char path[PATH_MAX];
    unsigned long ino = tracked(fd, path);
    if (!ino) return;
    struct stat st;
    fstat(fd, &st);
    record("F %d %lu %d\t%s\n", getpid(), ino, S_ISDIR(st.st_mode) ? 1 : 0, path);
}

int fsync(int fd) {
    int r = real_fsync(fd);
    if (r == 0) synced(fd);
    return r;
}

int fdatasync(int fd) {
    int r = real_fdatasync(fd);
    if (r == 0) synced(fd);
    return r;
}

int syncfs(int fd) {
    int r = real_syncfs(fd);
    if (r == 0 && log_fd >= 0) record("S %d\n", getpid());
    return r;
}

void sync(void) {
    real_sync();
    if (log_fd >= 0) record("S %d\n", getpid());
}

ssize_t copy_file_range(int in, off64_t *ip, int out, off64_t *op, size_t len, unsigned flags) {
    char path[PATH_MAX];
    if (tracked(out, path)) record("X %d copy_file_range\t%s\n", getpid(), path);
    return real_copy_file_range(in, ip, out, op, len, flags);
}

ssize_t sendfile64(int out, int in, off_t *offset, size_t count) {
    char path[PATH_MAX];
    if (tracked(out, path)) record("X %d sendfile\t%s\n", getpid(), path);
    return real_sendfile64(out, in, offset, count);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t offset) {
    char path[PATH_MAX];
    if ((prot & PROT_WRITE) && (flags & MAP_SHARED) && tracked(fd, path))
        record("X %d mmap\t%s\n", getpid(), path);
    return real_mmap64(addr, len, prot, flags, fd, offset);
}
