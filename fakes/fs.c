/* The fake file system: a tree of nodes in memory behind the fs ports.
 *
 * Every operation takes effect at its deadline (fakes_run_op), as Linux
 * would do it then: paths are resolved, errors chosen and data moved in
 * perform_op. Directories hold their entries in a hash table with linear
 * probing; files hold their content in a growable buffer, and beside it
 * what a crash leaves (synced), copied only when a synced file changes.
 * A node keeps its own name, inside it when short: a directory of
 * hundreds of thousands of files costs no allocation a file besides its
 * content, and a lookup touches the slot and the node it names. Nodes come
 * from slabs, and the slabs and large directory tables from huge pages
 * where the kernel gives them: a fresh page costs a fault, which on a
 * virtual machine costs more than the work done on the page.
 * A node lives while it has a name or a descriptor: an unlinked file stays
 * readable through the descriptors open on it. */
#define _GNU_SOURCE
#include "fakes_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define FS_UMASK 022
#define FIRST_FD 3
#define DIR_SIZE 4096 /* st_size of a directory, as ext4 gives */
#define HUGE_PAGE ((size_t)2 << 20)
#define FIRST_SLAB ((size_t)16 << 10) /* slabs double from this to HUGE_PAGE */

typedef struct node node;

/* A byte buffer with room for a NUL after its content (data[len] == 0 once
 * allocated). cap 0 with data set: the small content inside a node, not
 * owned (moved out to a buffer of its own before it grows). */
typedef struct bytes {
  char *data;
  size_t len, cap;
} bytes;

typedef struct entry {
  size_t hash;
  node *node; /* NULL: a free slot; the name is the node's */
} entry;

/* Names and contents shorter than these live inside their node. */
enum { SHORT_NAME = 16, SMALL_FILE = 16 };

struct node {
  node *prev, *next; /* every node, for crash and destroy */
  node *parent;      /* the directory naming it (the root: itself); NULL once unnamed */
  char *name;        /* its last name: short_name or malloc'ed; "" for the root */
  int64_t mtime_ms;
  size_t opens;      /* descriptors open on it */
  unsigned mode;     /* S_IFREG or S_IFDIR, and permissions */
  bool clean;
  union {
    /* a regular file: its content, and what survives a crash unless clean
     * (then synced is empty and the content itself survives) */
    struct {
      bytes now, synced;
      char small[SMALL_FILE];
    };
    /* a directory: its entries */
    struct {
      entry *entries;
      size_t used, cap; /* cap: 0 or a power of two */
    };
  };
  char short_name[SHORT_NAME];
};

typedef struct fdesc {
  node *node; /* NULL: a free descriptor */
  int flags;
  uint64_t pos;
  char *path;       /* as opened, for teardown's report; the buffer stays with the slot */
  size_t path_cap;
  const char *file; /* where it was opened */
  int line;
} fdesc;

/* Nodes are carved from slabs, freed ones kept for the next. */
typedef struct slab {
  struct slab *next;
  size_t size, used; /* bytes, the header's included */
} slab;

/* The directory of the last path resolved, for the next path in it: the
 * files of a directory are mostly named one after another. It holds until
 * a directory loses a name (rename), the only change that can make a path
 * resolve to another directory; adding names cannot. */
typedef struct dir_memo {
  node *dir;    /* NULL: none */
  char *prefix; /* the path up to its last name, the slashes before it included */
  size_t len, cap;
} dir_memo;

struct fake_fs {
  node *root;
  node *nodes; /* the list of every node */
  node *free_nodes; /* linked through next */
  slab *slabs;      /* newest first */
  fdesc *fds;  /* fds[i] is descriptor FIRST_FD + i */
  size_t n_fds, open_count;
  dir_memo memo;
};

/* ---- memory ------------------------------------------------------------------- */

/* Bookkeeping is small: running out of memory for it ends the process, as
 * in fakes.c. File content is not: growing it may fail with UV_ENOMEM. */
static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (!p) {
    fprintf(stderr, "clockwork: out of memory in the fake file system\n");
    abort();
  }
  return p;
}

static char *xstrndup(const char *s, size_t len) {
  char *copy = xcalloc(1, len + 1);
  memcpy(copy, s, len);
  return copy;
}

/* size zeroed bytes, on huge pages when size is a multiple of one (and the
 * kernel has them); free() frees them. */
static void *zeroed_block(size_t size) {
  if (size % HUGE_PAGE)
    return xcalloc(1, size);
  void *p;
  if (posix_memalign(&p, HUGE_PAGE, size) != 0)
    return xcalloc(1, size);
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return memset(p, 0, size);
}

/* Room for len bytes and a NUL; false when out of memory. */
static bool bytes_reserve(bytes *b, size_t len) {
  if (len < b->cap)
    return true;
  if (len == SIZE_MAX)
    return false;
  size_t cap = b->cap ? b->cap : 64;
  while (cap <= len)
    cap = cap > SIZE_MAX / 2 ? len + 1 : 2 * cap;
  char *grown = b->cap ? realloc(b->data, cap) : malloc(cap);
  if (!grown)
    return false;
  if (!b->cap && b->data) /* out of its node */
    memcpy(grown, b->data, b->len + 1);
  b->data = grown;
  b->cap = cap;
  return true;
}

/* An exact copy of len bytes of data, NUL-terminated; false when out of memory. */
static bool bytes_copy(bytes *b, const char *data, size_t len) {
  if (!(b->data = malloc(len + 1)))
    return false;
  if (len)
    memcpy(b->data, data, len);
  b->data[len] = '\0';
  b->len = len;
  b->cap = len + 1;
  return true;
}

static void bytes_free(bytes *b) {
  if (b->cap)
    free(b->data);
  *b = (bytes){NULL, 0, 0};
}

/* ---- nodes -------------------------------------------------------------------- */

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts); /* virtual under the harness */
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_dir(const node *n) { return S_ISDIR(n->mode); }

static node *node_alloc(fake_fs *fs) {
  node *n = fs->free_nodes;
  if (n) {
    fs->free_nodes = n->next;
    return memset(n, 0, sizeof *n);
  }
  slab *s = fs->slabs;
  if (!s || s->size - s->used < sizeof *n) {
    size_t size = !s ? FIRST_SLAB : s->size < HUGE_PAGE ? 2 * s->size : HUGE_PAGE;
    slab *fresh = zeroed_block(size);
    *fresh = (slab){s, size, (sizeof *fresh + _Alignof(node) - 1) / _Alignof(node) * _Alignof(node)};
    fs->slabs = s = fresh;
  }
  n = (node *)((char *)s + s->used);
  s->used += sizeof *n;
  return n; /* zeroed */
}

static node *node_new(fake_fs *fs, unsigned type, int perm) {
  node *n = node_alloc(fs);
  n->name = n->short_name;
  n->mode = type | ((unsigned)perm & 07777 & ~(unsigned)FS_UMASK);
  n->mtime_ms = wall_ms();
  n->clean = true;
  n->next = fs->nodes;
  if (fs->nodes)
    fs->nodes->prev = n;
  fs->nodes = n;
  return n;
}

static void node_free(fake_fs *fs, node *n) {
  if (n->prev)
    n->prev->next = n->next;
  else
    fs->nodes = n->next;
  if (n->next)
    n->next->prev = n->prev;
  if (is_dir(n)) {
    free(n->entries);
  } else {
    bytes_free(&n->now);
    bytes_free(&n->synced);
  }
  if (n->name != n->short_name)
    free(n->name);
  n->next = fs->free_nodes;
  fs->free_nodes = n;
}

/* Names n name (len bytes, not NUL-terminated). */
static void node_rename(node *n, const char *name, size_t len) {
  if (n->name != n->short_name)
    free(n->name);
  n->name = len < SHORT_NAME ? memcpy(n->short_name, name, len) : xstrndup(name, len);
  n->name[len] = '\0';
}

/* Frees n once nothing refers to it: no name, no descriptor. */
static void node_release(fake_fs *fs, node *n) {
  if (!n->parent && !n->opens)
    node_free(fs, n);
}

/* ---- directories: a hash table of entries, linear probing ------------------------- */

static size_t name_hash(const char *name, size_t len) {
  uint64_t h = 14695981039346656037u; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)name[i]) * 1099511628211u;
  return (size_t)h;
}

/* The slot holding name (len bytes, not NUL-terminated), or the free slot
 * where it would go; dir->cap must not be 0. */
static size_t dir_slot(const node *dir, const char *name, size_t len, size_t hash) {
  size_t mask = dir->cap - 1, i = hash & mask;
  for (const entry *e; (e = &dir->entries[i])->node; i = (i + 1) & mask)
    if (e->hash == hash && strncmp(e->node->name, name, len) == 0 && e->node->name[len] == '\0')
      return i;
  return i;
}

static node *dir_find(const node *dir, const char *name, size_t len) {
  return dir->cap ? dir->entries[dir_slot(dir, name, len, name_hash(name, len))].node : NULL;
}

/* Names child in dir (name not there yet). */
static void dir_add(node *dir, const char *name, size_t len, node *child) {
  if (4 * (dir->used + 1) > 3 * dir->cap) {
    entry *old = dir->entries;
    size_t old_cap = dir->cap;
    dir->cap = old_cap ? 2 * old_cap : 8;
    dir->entries = zeroed_block(dir->cap * sizeof *dir->entries);
    size_t mask = dir->cap - 1;
    for (size_t i = 0; i < old_cap; i++) /* the names differ: the first free slot from home */
      if (old[i].node) {
        size_t j = old[i].hash & mask;
        while (dir->entries[j].node)
          j = (j + 1) & mask;
        dir->entries[j] = old[i];
      }
    free(old);
  }
  size_t hash = name_hash(name, len);
  dir->entries[dir_slot(dir, name, len, hash)] = (entry){hash, child};
  node_rename(child, name, len);
  dir->used++;
  dir->mtime_ms = wall_ms();
  child->parent = dir;
}

/* Takes name (present) out of dir; returns the node it named, to release. */
static node *dir_remove(fake_fs *fs, node *dir, const char *name, size_t len) {
  size_t mask = dir->cap - 1, i = dir_slot(dir, name, len, name_hash(name, len));
  node *child = dir->entries[i].node;
  dir->entries[i] = (entry){0, NULL};
  /* backward shift: move up the entries of the run after i that may live at i */
  for (size_t j = (i + 1) & mask; dir->entries[j].node; j = (j + 1) & mask) {
    size_t home = dir->entries[j].hash & mask;
    bool stays = i <= j ? i < home && home <= j : i < home || home <= j;
    if (!stays) {
      dir->entries[i] = dir->entries[j];
      dir->entries[j] = (entry){0, NULL};
      i = j;
    }
  }
  dir->used--;
  dir->mtime_ms = wall_ms();
  child->parent = NULL;
  if (is_dir(child))
    fs->memo.dir = NULL;
  return child;
}

/* ---- paths -------------------------------------------------------------------- */

/* What a path names. */
typedef struct where {
  node *dir;        /* the directory of the last component; NULL for "/", "." and ".." */
  const char *name; /* the last component: name_len bytes of the path */
  size_t name_len;
  node *node;       /* what the path names; NULL when it does not exist */
  bool slash;       /* a trailing slash: it must be a directory */
} where;

/* The directory the memo resolves path's first *prefix_len bytes to, when
 * a name follows them; NULL otherwise. */
static node *memo_dir(const fake_fs *fs, const char *path, size_t *prefix_len) {
  const dir_memo *m = &fs->memo;
  if (!m->dir || strncmp(path, m->prefix, m->len) != 0 || !path[m->len] || path[m->len] == '/')
    return NULL;
  *prefix_len = m->len;
  return m->dir;
}

/* Remembers that path's first len bytes resolve to dir. */
static void memo_set(fake_fs *fs, const char *path, size_t len, node *dir) {
  dir_memo *m = &fs->memo;
  if (len > m->cap) {
    free(m->prefix);
    m->cap = len > 64 ? len : 64;
    m->prefix = xcalloc(1, m->cap);
  }
  memcpy(m->prefix, path, len);
  m->len = len;
  m->dir = dir;
}

/* Resolves path; 0 when every component but the last resolved to a
 * directory (make: missing ones are created), else UV_EINVAL (not
 * absolute), UV_ENOENT, UV_ENOTDIR (also for a file named with a trailing
 * slash) or UV_ENAMETOOLONG. From the memo's directory when it applies:
 * the walk up to it would end there, and a name after it overwrites all
 * the walk kept. */
static int locate(fake_fs *fs, const char *path, bool make, where *w) {
  if (path[0] != '/')
    return UV_EINVAL;
  size_t known = 0;
  node *start = memo_dir(fs, path, &known);
  *w = (where){NULL, NULL, 0, start ? start : fs->root, path[strlen(path) - 1] == '/'};
  for (const char *p = path + known;;) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *end = strchrnul(p, '/');
    size_t len = (size_t)(end - p);
    if (len > NAME_MAX)
      return UV_ENAMETOOLONG;
    node *cur = w->node;
    if (!cur && make) /* the previous component, missing */
      dir_add(w->dir, w->name, w->name_len, cur = node_new(fs, S_IFDIR, 0755));
    if (!cur)
      return UV_ENOENT;
    if (!is_dir(cur))
      return UV_ENOTDIR;
    if (!*end && p != path + known) /* the last name, in a directory the memo does not hold */
      memo_set(fs, path, (size_t)(p - path), cur);
    bool dot = len == 1 && p[0] == '.', dotdot = len == 2 && p[0] == '.' && p[1] == '.';
    *w = (where){dot || dotdot ? NULL : cur, p, len, dot ? cur : dotdot ? cur->parent : dir_find(cur, p, len),
                 w->slash};
    p = end;
  }
  return w->node && w->slash && !is_dir(w->node) ? UV_ENOTDIR : 0;
}

/* ---- files ---------------------------------------------------------------------- */

/* Before a file changes: keep what a crash would leave, if the content is it. */
static bool file_changing(node *n) {
  if (n->clean) {
    if (n->now.len && !bytes_copy(&n->synced, n->now.data, n->now.len))
      return false;
    n->clean = false;
  }
  n->mtime_ms = wall_ms();
  return true;
}

static void file_sync(node *n) {
  bytes_free(&n->synced);
  n->clean = true;
}

static int file_truncate(node *n) {
  if (!n->now.len)
    return 0;
  if (!file_changing(n))
    return UV_ENOMEM;
  n->now.len = 0;
  n->now.data[0] = '\0';
  return 0;
}

/* Writes len bytes of data at offset, the gap before it zeroed; 0,
 * UV_EFBIG or UV_ENOMEM. */
static int file_write(node *n, uint64_t offset, const void *data, size_t len) {
  if (!len)
    return 0;
  if (offset > SIZE_MAX - len - 1)
    return UV_EFBIG;
  size_t end = (size_t)offset + len;
  if (!bytes_reserve(&n->now, end) || !file_changing(n))
    return UV_ENOMEM;
  if (offset > n->now.len)
    memset(n->now.data + n->now.len, 0, (size_t)offset - n->now.len);
  memcpy(n->now.data + offset, data, len);
  if (end > n->now.len) {
    n->now.len = end;
    n->now.data[end] = '\0';
  }
  return 0;
}

/* Replaces the content of n with len bytes of data, synced. */
static int file_put(node *n, const void *data, size_t len) {
  bytes fresh;
  if (len < SMALL_FILE) { /* data may be n's content still */
    if (len)
      memmove(n->small, data, len);
    n->small[len] = '\0';
    fresh = (bytes){n->small, len, 0};
  } else if (!bytes_copy(&fresh, data, len)) {
    return UV_ENOMEM;
  }
  bytes_free(&n->now);
  n->now = fresh;
  file_sync(n);
  n->mtime_ms = wall_ms();
  return 0;
}

/* ---- descriptors ----------------------------------------------------------------- */

static fdesc *fd_get(fake_fs *fs, int fd) {
  if (fd < FIRST_FD || (size_t)(fd - FIRST_FD) >= fs->n_fds)
    return NULL;
  fdesc *d = &fs->fds[fd - FIRST_FD];
  return d->node ? d : NULL;
}

/* The lowest free descriptor, as a kernel gives, now open on n. */
static int fd_open(fake_fs *fs, node *n, const cw_io_op *op) {
  size_t i = 0;
  while (i < fs->n_fds && fs->fds[i].node)
    i++;
  if (i == fs->n_fds) {
    fdesc *grown = xcalloc(fs->n_fds ? 2 * fs->n_fds : 16, sizeof *grown);
    if (fs->n_fds)
      memcpy(grown, fs->fds, fs->n_fds * sizeof *grown);
    free(fs->fds);
    fs->fds = grown;
    fs->n_fds = fs->n_fds ? 2 * fs->n_fds : 16;
  }
  fdesc *d = &fs->fds[i];
  size_t len = strlen(op->path);
  if (len >= d->path_cap) {
    free(d->path);
    d->path_cap = len + 1 > 64 ? len + 1 : 64;
    d->path = xcalloc(1, d->path_cap);
  }
  memcpy(d->path, op->path, len + 1);
  *d = (fdesc){n, op->flags, 0, d->path, d->path_cap, op->file, op->line};
  n->opens++;
  fs->open_count++;
  return FIRST_FD + (int)i;
}

static void fd_close(fake_fs *fs, fdesc *d) {
  node *n = d->node;
  *d = (fdesc){NULL, 0, 0, d->path, d->path_cap, NULL, 0};
  fs->open_count--;
  n->opens--;
  node_release(fs, n);
}

/* ---- the operations, at their deadline -------------------------------------------- */

static intptr_t do_open(fake_fs *fs, cw_io_op *op) {
  int flags = op->flags, access = flags & O_ACCMODE;
  if (access == O_ACCMODE)
    return UV_EINVAL;
  where w;
  int rc = locate(fs, op->path, false, &w);
  if (rc < 0)
    return rc;
  node *n = w.node;
  if (n) {
    if ((flags & O_CREAT) && (flags & O_EXCL))
      return UV_EEXIST;
    /* O_TRUNC asks for writing too, as Linux counts it */
    if (is_dir(n) && (access != O_RDONLY || (flags & (O_CREAT | O_TRUNC))))
      return UV_EISDIR;
    if (!is_dir(n) && (flags & O_DIRECTORY))
      return UV_ENOTDIR;
  } else {
    if (!(flags & O_CREAT))
      return UV_ENOENT;
    if (flags & O_DIRECTORY)
      return UV_EINVAL;
    if (w.slash)
      return UV_EISDIR;
    dir_add(w.dir, w.name, w.name_len, n = node_new(fs, S_IFREG, op->mode));
  }
  if ((flags & O_TRUNC) && (rc = file_truncate(n)) < 0)
    return rc;
  return fd_open(fs, n, op);
}

/* Moves fewer bytes than len under a short fault: 1 to len - 1, seeded. */
static size_t transfer_len(fakes *f, const fake_op *o) {
  size_t len = o->op->len;
  if (o->plan.fault.kind != CW_FAULT_SHORT || len < 2)
    return len;
  return 1 + (size_t)(fakes_uniform(f) * (double)(len - 1));
}

static intptr_t do_read(fakes *f, fake_op *o) {
  cw_io_op *op = o->op;
  fdesc *d = fd_get(f->fs, op->fd);
  if (!d || (d->flags & O_ACCMODE) == O_WRONLY)
    return UV_EBADF;
  if (is_dir(d->node))
    return UV_EISDIR;
  const bytes *content = &d->node->now;
  uint64_t at = op->offset < 0 ? d->pos : (uint64_t)op->offset;
  size_t n = transfer_len(f, o);
  if (at >= content->len)
    n = 0;
  else if (n > content->len - at)
    n = content->len - (size_t)at;
  if (n)
    memcpy(op->buf, content->data + at, n);
  if (op->offset < 0)
    d->pos = at + n;
  return (intptr_t)n;
}

static intptr_t do_write(fakes *f, fake_op *o) {
  cw_io_op *op = o->op;
  fdesc *d = fd_get(f->fs, op->fd);
  if (!d || (d->flags & O_ACCMODE) == O_RDONLY)
    return UV_EBADF;
  node *n = d->node;
  /* with O_APPEND Linux appends even at an offset (pwrite) */
  uint64_t at = (d->flags & O_APPEND) ? n->now.len : op->offset < 0 ? d->pos : (uint64_t)op->offset;
  size_t len = transfer_len(f, o);
  int rc = file_write(n, at, op->buf, len);
  if (rc < 0)
    return rc;
  if (op->offset < 0)
    d->pos = at + len;
  if (d->flags & O_DSYNC) /* O_SYNC includes it */
    file_sync(n);
  return (intptr_t)len;
}

static intptr_t do_close(fake_fs *fs, cw_io_op *op) {
  fdesc *d = fd_get(fs, op->fd);
  if (!d)
    return UV_EBADF;
  fd_close(fs, d);
  return 0;
}

static intptr_t do_fsync(fake_fs *fs, cw_io_op *op) {
  fdesc *d = fd_get(fs, op->fd);
  if (!d)
    return UV_EBADF;
  if (!is_dir(d->node)) /* a directory's names are durable already */
    file_sync(d->node);
  return 0;
}

static intptr_t do_stat(fake_fs *fs, cw_io_op *op) {
  where w;
  int rc = locate(fs, op->path, false, &w);
  if (rc < 0 || !w.node)
    return rc < 0 ? rc : UV_ENOENT;
  node *n = w.node;
  op->stat = (cw_stat){is_dir(n) ? DIR_SIZE : n->now.len, n->mode, n->mtime_ms};
  return 0;
}

static intptr_t do_unlink(fake_fs *fs, cw_io_op *op) {
  where w;
  int rc = locate(fs, op->path, false, &w);
  if (rc < 0 || !w.node)
    return rc < 0 ? rc : UV_ENOENT;
  if (is_dir(w.node))
    return UV_EISDIR;
  node_release(fs, dir_remove(fs, w.dir, w.name, w.name_len));
  return 0;
}

static intptr_t do_mkdir(fake_fs *fs, cw_io_op *op) {
  where w;
  int rc = locate(fs, op->path, false, &w);
  if (rc < 0 || w.node)
    return rc < 0 ? rc : UV_EEXIST;
  dir_add(w.dir, w.name, w.name_len, node_new(fs, S_IFDIR, op->mode));
  return 0;
}

/* POSIX rename: a file replaces a file, a directory an empty directory, at once. */
static intptr_t do_rename(fake_fs *fs, cw_io_op *op) {
  where from, to;
  int rc = locate(fs, op->path, false, &from);
  if (rc == 0)
    rc = locate(fs, op->path2, false, &to);
  if (rc < 0)
    return rc;
  node *n = from.node, *old = to.node;
  if (!n)
    return UV_ENOENT;
  if (!from.dir || !to.dir) /* "/", "." or ".." */
    return UV_EBUSY;
  if (n == old)
    return 0;
  if (is_dir(n)) {
    for (node *d = to.dir; d != fs->root; d = d->parent)
      if (d == n)
        return UV_EINVAL; /* into itself */
    if (old && !is_dir(old))
      return UV_ENOTDIR;
    if (old && old->used)
      return UV_ENOTEMPTY;
  } else if (to.slash) {
    return UV_ENOTDIR;
  } else if (old && is_dir(old)) {
    return UV_EISDIR;
  }
  if (old)
    node_release(fs, dir_remove(fs, to.dir, to.name, to.name_len));
  dir_add(to.dir, to.name, to.name_len, dir_remove(fs, from.dir, from.name, from.name_len));
  return 0;
}

static intptr_t do_readdir(fake_fs *fs, cw_io_op *op) {
  where w;
  int rc = locate(fs, op->path, false, &w);
  if (rc < 0 || !w.node)
    return rc < 0 ? rc : UV_ENOENT;
  node *dir = w.node;
  if (!is_dir(dir))
    return UV_ENOTDIR;
  op->entries = dir->used ? xcalloc(dir->used, sizeof *op->entries) : NULL;
  op->n_entries = 0;
  for (size_t i = 0; i < dir->cap; i++) {
    const node *child = dir->entries[i].node;
    if (child)
      op->entries[op->n_entries++] = (cw_dirent){xstrndup(child->name, strlen(child->name)), is_dir(child)};
  }
  return 0;
}

static fake_fs *fs_of(fakes *f) {
  if (!f->fs) {
    f->fs = xcalloc(1, sizeof *f->fs);
    node *root = node_new(f->fs, S_IFDIR, 0755);
    root->parent = root;
    f->fs->root = root;
  }
  return f->fs;
}

/* At its deadline, the operation as Linux would do it then (the rules
 * turn a short fault into an error but for reads and writes). */
static void perform_op(fakes *f, fake_op *o) {
  fake_fs *fs = fs_of(f);
  cw_io_op *op = o->op;
  intptr_t result;
  switch (op->kind) {
  case CW_OP_FS_OPEN: result = do_open(fs, op); break;
  case CW_OP_FS_READ: result = do_read(f, o); break;
  case CW_OP_FS_WRITE: result = do_write(f, o); break;
  case CW_OP_FS_CLOSE: /* Linux releases the descriptor even when close fails */
    result = do_close(fs, op);
    if (result == 0 && o->plan.fault.kind == CW_FAULT_ERROR)
      result = o->plan.fault.code;
    break;
  case CW_OP_FS_STAT: result = do_stat(fs, op); break;
  case CW_OP_FS_UNLINK: result = do_unlink(fs, op); break;
  case CW_OP_FS_RENAME: result = do_rename(fs, op); break;
  case CW_OP_FS_MKDIR: result = do_mkdir(fs, op); break;
  case CW_OP_FS_READDIR: result = do_readdir(fs, op); break;
  case CW_OP_FS_FSYNC: result = do_fsync(fs, op); break;
  default: result = UV_ENOSYS; break;
  }
  fakes_complete(f, op, result, NULL);
}

/* Where the lookup of path's last name at the deadline starts, when the
 * memo holds its directory; NULL otherwise. */
static const entry *memo_slot(const fake_fs *fs, const char *path) {
  size_t prefix_len;
  const node *dir = memo_dir(fs, path, &prefix_len);
  if (!dir || !dir->cap)
    return NULL;
  const char *name = path + prefix_len;
  return strchr(name, '/') ? NULL : &dir->entries[name_hash(name, strlen(name)) & (dir->cap - 1)];
}

/* The slot of the name is asked from memory now, without waiting, for the
 * lookup at the deadline: in a directory of many thousands of files it is
 * rarely in the cache, and that wait was most of an open's cost. The
 * prefetch is here, not in a helper: GCC takes a function whose only
 * effect is a prefetch for a pure one and drops the calls to it. */
void fs_submit(fakes *f, cw_io_op *op, fake_plan plan) {
  const entry *slot = op->path ? memo_slot(fs_of(f), op->path) : NULL;
  if (slot)
    __builtin_prefetch(slot);
  fakes_run_op(f, op, plan, perform_op);
}

const char *fs_fd_path(fakes *f, int fd) {
  fdesc *d = f->fs ? fd_get(f->fs, fd) : NULL;
  return d ? d->path : NULL;
}

void fs_teardown(fakes *f) {
  if (!f->fs || (f->h->opts.allow & CW_ALLOW_OPEN_FILES))
    return;
  for (size_t i = 0; i < f->fs->n_fds; i++) {
    const fdesc *d = &f->fs->fds[i];
    if (d->node)
      fakes_fail(f, d->file, d->line,
                 "fake file %s opened here still open (descriptor %d; close the files a test opens)", d->path,
                 FIRST_FD + (int)i);
  }
}

void fs_destroy(fakes *f) {
  fake_fs *fs = f->fs;
  if (!fs)
    return;
  for (size_t i = 0; i < fs->n_fds; i++)
    free(fs->fds[i].path);
  free(fs->fds);
  free(fs->memo.prefix);
  while (fs->nodes)
    node_free(fs, fs->nodes);
  while (fs->slabs) {
    slab *next = fs->slabs->next;
    free(fs->slabs);
    fs->slabs = next;
  }
  free(fs);
  f->fs = NULL;
}

/* ---- seeding and inspecting, from the test ------------------------------------------ */

/* The fake file system of h, and path checked: NULL after a failure at file:line. */
static fake_fs *fs_for(cw_harness *h, const char *path, const char *function, const char *file, int line) {
  fakes *f = fakes_of(h, function, file, line);
  if (!f)
    return NULL;
  if (!path)
    fakes_fail(f, file, line, "%s: path is NULL", function);
  else if (path[0] != '/')
    fakes_fail(f, file, line, "%s: path \"%s\" is not absolute", function, path);
  return path && path[0] == '/' ? fs_of(f) : NULL;
}

/* Reports rc (a code) as a failure of function on path at file:line; returns it. */
static int seed_failed(cw_harness *h, const char *function, const char *path, int rc, const char *file, int line) {
  fakes_fail(h->fakes, file, line, "%s: %s: %s (%s)", function, path, cw_strerror(rc), cw_err_name(rc));
  return rc;
}

int cw_fake_fs_put_at(cw_harness *h, const char *path, const void *data, size_t len, const char *file, int line) {
  const char *function = "cw_fake_fs_put";
  fake_fs *fs = fs_for(h, path, function, file, line);
  if (!fs)
    return UV_EINVAL;
  if (len && !data) {
    fakes_fail(h->fakes, file, line, "%s: data is NULL and len is %zu", function, len);
    return UV_EINVAL;
  }
  where w;
  int rc = locate(fs, path, true, &w);
  if (rc == 0 && w.node && is_dir(w.node))
    rc = UV_EISDIR;
  if (rc == 0 && !w.node && w.slash)
    rc = UV_EISDIR;
  if (rc == 0 && !w.node)
    dir_add(w.dir, w.name, w.name_len, w.node = node_new(fs, S_IFREG, 0644));
  if (rc == 0)
    rc = file_put(w.node, data, len);
  return rc < 0 ? seed_failed(h, function, path, rc, file, line) : 0;
}

int cw_fake_fs_mkdir_at(cw_harness *h, const char *path, const char *file, int line) {
  const char *function = "cw_fake_fs_mkdir";
  fake_fs *fs = fs_for(h, path, function, file, line);
  if (!fs)
    return UV_EINVAL;
  where w;
  int rc = locate(fs, path, true, &w);
  if (rc == 0 && w.node && !is_dir(w.node))
    rc = UV_EEXIST;
  if (rc == 0 && !w.node)
    dir_add(w.dir, w.name, w.name_len, node_new(fs, S_IFDIR, 0755));
  return rc < 0 ? seed_failed(h, function, path, rc, file, line) : 0;
}

/* What path names now, NULL when nothing (or a failure at file:line). */
static node *inspect(cw_harness *h, const char *path, const char *function, const char *file, int line) {
  fake_fs *fs = fs_for(h, path, function, file, line);
  where w;
  return fs && locate(fs, path, false, &w) == 0 ? w.node : NULL;
}

const char *cw_fake_fs_get_at(cw_harness *h, const char *path, size_t *len_out, const char *file, int line) {
  node *n = inspect(h, path, "cw_fake_fs_get", file, line);
  if (!n || is_dir(n))
    return NULL;
  if (len_out)
    *len_out = n->now.len;
  return n->now.data ? n->now.data : "";
}

unsigned cw_fake_fs_type_at(cw_harness *h, const char *path, const char *file, int line) {
  node *n = inspect(h, path, "cw_fake_fs_type", file, line);
  return n ? n->mode & S_IFMT : 0;
}

void cw_fake_fs_crash_at(cw_harness *h, const char *file, int line) {
  fakes *f = fakes_of(h, "cw_fake_fs_crash", file, line);
  if (!f || !f->fs)
    return;
  for (node *n = f->fs->nodes; n; n = n->next)
    if (!is_dir(n) && !n->clean) {
      bytes_free(&n->now);
      n->now = n->synced;
      n->synced = (bytes){NULL, 0, 0};
      n->clean = true;
    }
}

size_t cw_fake_fs_open_count_at(cw_harness *h, const char *file, int line) {
  fakes *f = fakes_of(h, "cw_fake_fs_open_count", file, line);
  return f && f->fs ? f->fs->open_count : 0;
}
