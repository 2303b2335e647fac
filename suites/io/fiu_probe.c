/* An unchanged binary for fiu-run: reads a file of its own through
 * cw_fs_read at offset 0 and exits 0 when the read rejected with the code
 * named by its argument ("UV_EIO") and left the buffer untouched. Not run
 * under fiu-run (no FIU_ENABLE in the environment), it skips: exit 77. */
#include <clockwork/io.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct probe {
  cw_loop *loop;
  const char *path;
  char buf[4];
  cw_result read;
} probe;

static cw_result read_it(void *arg) {
  probe *p = arg;
  cw_result opened = cw_await(cw_fs_open(p->loop, p->path, O_RDONLY, 0));
  if (opened.state != CW_FULFILLED)
    return opened;
  int fd = (int)(intptr_t)opened.value;
  p->read = cw_await(cw_fs_read(p->loop, fd, p->buf, 3, 0));
  return cw_await(cw_fs_close(p->loop, fd));
}

static void start(void *arg) {
  probe *p = arg;
  cw_detach(cw_catch(cw_spawn(p->loop, read_it, p), NULL, NULL));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fiu-run -x -c 'enable name=POINT,failinfo=N' %s UV_CODE\n", argv[0]);
    return 2;
  }
  if (!getenv("FIU_ENABLE")) {
    fprintf(stderr, "fiu_probe: not run under fiu-run: skipped\n");
    return 77;
  }
  const char *tmp = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/cw-fiu-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, "abc", 3) != 3 || close(fd) != 0) {
    perror("fiu_probe: the file to read");
    return 1;
  }
  probe p = {cw_loop_new(), path, "...", {CW_PENDING, NULL, 0, NULL}};
  int rc = cw_run(p.loop, start, &p);
  cw_loop_free(p.loop);
  unlink(path);
  const char *got = p.read.state == CW_REJECTED ? cw_err_name(p.read.error)
                    : p.read.state == CW_FULFILLED ? "fulfilled" : "never read";
  printf("fs.read: %s, buffer \"%s\"\n", got, p.buf);
  return rc == 0 && strcmp(got, argv[1]) == 0 && strcmp(p.buf, "...") == 0 ? 0 : 1;
}
