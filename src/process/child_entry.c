/* The entry of a spawned child: mproc_main_guard, and the same entry run
 * from a constructor so that a program that forgets the guard still works.
 * The spawn preamble (also the forkserver's children's): find the channel
 * named on the command line, read the bootstrap message, find the target
 * and take the handles; then the child's life (child_life.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process/bootstrap.h"
#include "process/child_entry.h"
#include "process/child_life.h"

/* Through a pointer the loader fills in at start-up: a forkserver child
 * would otherwise bind exit's lazy PLT slot anew (the server never calls
 * it), with a dynamic-linker lookup and a copy-on-write fault. */
static void (*volatile exit_now)(int) = exit;
static void end_spawned(int code) { exit_now(code); }

/* Reads the bootstrap message, runs the target and exits; never returns.
 * Every failure before the target runs is reported to the parent, which
 * turns it into MPROC_ECHILD with this message as the detail. */
static void run_spawned_child(const char *token) {
  mproc__stream_t channel;
  if (mproc__os_stream_from_token(token, &channel) != 0) {
    /* No channel, so nobody to report to but the terminal. */
    fprintf(stderr, "mproc: %s %s: %s\n", MPROC__CHILD_MARKER, token, mproc_last_error_detail());
    exit(MPROC__CHILD_FAILED);
  }
  mproc__boot_t boot;
  mproc__fn_t fn = NULL;
  intptr_t *table = NULL;
  int rc = mproc__boot_recv(&channel, &boot);
  if (rc == 0)
    rc = mproc__os_fnref_resolve(&boot.target, &fn);
  if (rc == 0 && boot.nhandles && !(table = malloc(boot.nhandles * sizeof *table)))
    rc = mproc__fail(MPROC_ENOMEM, "bootstrap: out of memory");
  size_t imported = 0;
  for (; imported < boot.nhandles && rc == 0; imported++)
    rc = boot.handles[imported].blob
             ? mproc__os_handle_import(boot.handles[imported].blob, boot.handles[imported].blob_len,
                                       &table[imported])
             : (table[imported] = boot.handles[imported].value, 0);
  if (rc != 0) {
    mproc__report_error(&channel, mproc_last_error_detail());
    mproc__os_stream_close(&channel);
    exit(MPROC__CHILD_FAILED);
  }
  mproc__child_life_t life = {
      .target = (mproc_target_fn)fn,
      .args = boot.args,
      .args_len = boot.args_len,
      .handles = table,
      .nhandles = boot.nhandles,
      .name = boot.name,
      .identity = boot.identity,
      .parent_pid = boot.parent_pid,
      .daemon = boot.daemon,
      .parent_link = (intptr_t)boot.parent_link,
      .pdeathsig_ok = boot.pdeathsig_ok,
      .log_level = boot.log_level,
      .report = &channel,
      .end = end_spawned,
  };
  mproc__child_live(&life);
}

/* The marker is argv[1]; the channel's token follows it. A marker without a
 * token still makes this a (broken) child: it must not run main as if it
 * were a parent. */
static bool is_child_marker(int argc, char **argv) {
  return argc >= 2 && argv && argv[1] && strcmp(argv[1], MPROC__CHILD_MARKER) == 0;
}

static const char *marker_token(int argc, char **argv) {
  return argc >= 3 && argv[2] ? argv[2] : "";
}

int mproc_main_guard(int argc, char **argv) {
  mproc__os_note_command_line(argc, argv);
  if (is_child_marker(argc, argv))
    run_spawned_child(marker_token(argc, argv));
  return 0;
}

#if defined(__GNUC__)
/* GCC, Clang and MinGW run this before main. The guard stays the documented
 * contract: constructors are a toolchain feature, and MPROC_NO_AUTO_ENTRY=1
 * hands the entry back to mproc_main_guard (the tests check both paths). */
__attribute__((constructor)) static void auto_entry(void) {
  const char *off = getenv("MPROC_NO_AUTO_ENTRY");
  if ((off && *off && strcmp(off, "0") != 0) || !mproc__os_constructor_entry_allowed())
    return;
  int argc;
  char **argv;
  if (mproc__os_command_line(&argc, &argv) != 0)
    return;
  char token[64] = "";
  bool child = is_child_marker(argc, argv);
  if (child)
    snprintf(token, sizeof token, "%s", marker_token(argc, argv));
  mproc__os_free_argv(argc, argv);
  if (child)
    run_spawned_child(token);
}
#endif

void mproc__child_entry_run(const char *token) { run_spawned_child(token); }

/* Referenced by process.c so that a static link that uses processes always
 * pulls in this file, and with it the constructor above. */
void mproc__child_entry_anchor(void) {}
