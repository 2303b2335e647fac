/* A while loop over a list: each upload waits for the one before. */
#include <clockwork/core.h>

struct file {
  struct file *next;
  const char *path;
};

struct upload {
  cw_loop *loop;
  struct file *files;
};

cw_promise *upload_file(cw_loop *loop, const char *path);

cw_result upload_all(void *arg) {
  struct upload *up = arg;
  struct file *f = up->files;
  int failed = 0;
  while (f != NULL) {
    cw_result r = cw_await(upload_file(up->loop, f->path));
    failed += r.state == CW_REJECTED;
    f = f->next;
  }
  return cw_ok((void *)(long)failed);
}
