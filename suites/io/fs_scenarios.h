/* The file system scenarios, run with the same expectations on both
 * backends of the file ports: the real one in a temporary directory
 * (suites/io/test_fs.c) and the harness's fake (suites/fakes/test_fs.c).
 * The scenarios record what each operation gives (record.h, outcome.h);
 * each program provides the backend below and runs the tests with a
 * fixture that makes the test's directory and resets the record. */
#ifndef CW_IO_FS_SCENARIOS_H
#define CW_IO_FS_SCENARIOS_H

#include <clockwork/io.h>

#include "outcome.h"
#include "record.h"

/* ---- the backend, provided by the program ------------------------------------ */

/* The loop the ports run on. */
cw_loop *fs_loop(void);
/* The test's directory, made by the fixture. */
const char *fs_dir(void);
/* Writes len bytes to name in the test's directory / reads it back, not
 * through the ports (a malloc'ed copy, NUL-terminated; NULL when missing). */
void put_file(const char *name, const char *data, size_t len);
char *get_file(const char *name, size_t *len);
/* Runs fn(arg) as a task on fs_loop() with run_as_task (outcome.h). */
void run_task(cw_task_fn fn, void *arg);
/* Files open in the backend: the process's descriptors, the fake's files. */
int open_files(void);

/* ---- paths and recording --------------------------------------------------------- */

/* name inside the test's directory; four paths can be held at once. */
const char *at(const char *name);

/* Stats path: the outcome, then "dir mode=750" or "size=11 file mode=644". */
void stat_of(const char *label, const char *path);
/* Lists path: the outcome, then "n=2" and each name ("sub/" for a directory). */
void list(const char *label, const char *path);

/* A whole file: size bytes of pattern written, data and len read back. */
typedef struct whole {
  char *data;
  size_t len;
  size_t size;
  char *pattern;
} whole;
/* Reads name into w with cw_fs_read_file: the outcome, then "len=5". */
void read_back(whole *w, const char *label, const char *name);

/* ---- the scenarios ------------------------------------------------------------ */

void open_read_write_close(void **state);
void stat_mkdir_rename_unlink_readdir(void **state);
/* Over a megabyte: several reads and writes of Node's 512 KiB chunks. */
void read_file_write_file_round_trip(void **state);

#endif
