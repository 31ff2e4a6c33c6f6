/* The internal OS interface. src/posix and src/win32 each define every
 * function declared here; the portable folders (src/core and one per concept) use nothing
 * else from the OS. */
#ifndef MPROC_PLATFORM_H
#define MPROC_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mproc/error.h"
#include "mproc/timeout.h"

/* ---- errors (posix/error.c, win32/error.c say what an OS code means;
 *      common/error.c records it) --------------------------------------- */

/* The calling thread's last OS error (errno / GetLastError). */
long mproc__os_last_error(void);
/* The OS's message for native into msg (cap bytes, one line), and the
 * MPROC_E* code it maps to (MPROC_ESYS unless a closer code exists). */
int mproc__os_error_text(long native, char *msg, size_t cap);

/* Records the calling thread's last OS error as the error detail
 * "<formatted step>: <OS message>" and returns its MPROC_E* code. */
int mproc__os_fail(const char *fmt, ...);

/* The same for a native code that was returned rather than left in
 * errno / GetLastError (posix_spawn, for example). */
int mproc__os_fail_code(long native, const char *fmt, ...);

/* ---- the running process (sysinfo.c) ------------------------------------ */

int64_t mproc__os_getpid(void);
/* A monotonic clock in milliseconds, for timeouts. */
int64_t mproc__os_now_ms(void);
/* Deadlines, the one way every layer computes them: MPROC__NO_DEADLINE
 * (-1) for MPROC_INFINITE, else now + timeout_ms on the monotonic clock
 * (timeout 0: now, so the first check times out). */
#define MPROC__NO_DEADLINE ((int64_t)-1)
static inline int64_t mproc__deadline(int timeout_ms) {
  return timeout_ms < 0 ? MPROC__NO_DEADLINE : mproc__os_now_ms() + timeout_ms;
}
/* The milliseconds left: 0 when past, MPROC_INFINITE (-1) for none. */
static inline int mproc__remaining_ms(int64_t deadline) {
  if (deadline < 0)
    return -1;
  int64_t left = deadline - mproc__os_now_ms();
  return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}
/* A deadline read off the clock only when a wait first needs it, so a
 * call that never waits never reads the clock (a pool's queue calls read
 * it on every put and get before: ~4 reads per task at ~25 ns each). The
 * timeout counts from that first need, a few instructions into the call. */
typedef struct {
  int timeout_ms;
  int64_t at; /* MPROC__DEADLINE_UNREAD until first asked for */
} mproc__lazy_deadline_t;
#define MPROC__DEADLINE_UNREAD INT64_MIN
static inline mproc__lazy_deadline_t mproc__lazy_deadline(int timeout_ms) {
  return (mproc__lazy_deadline_t){timeout_ms, MPROC__DEADLINE_UNREAD};
}
static inline int64_t mproc__deadline_of(mproc__lazy_deadline_t *d) {
  if (d->at == MPROC__DEADLINE_UNREAD)
    d->at = mproc__deadline(d->timeout_ms);
  return d->at;
}
/* The same clock in microseconds, for measuring (a pool's task times). */
int64_t mproc__os_now_us(void);
int mproc__os_cpu_count(void);

/* This process's command line as UTF-8 strings, for the constructor entry.
 * Free with mproc__os_free_argv. MPROC_ENOTSUP where it cannot be read. */
int mproc__os_command_line(int *argc, char ***argv);
void mproc__os_free_argv(int argc, char **argv);
/* Tells the backend main's arguments (mproc_main_guard): where the system
 * offers no other way to find the running executable, argv[0] is it. */
void mproc__os_note_command_line(int argc, char **argv);

/* Flushes stdout and stderr, touching neither when nothing is buffered
 * (a stream's lock is a write, a copy-on-write fault in a forked child). */
void mproc__os_flush_std_streams(void);

/* Whether the child entry may run from a constructor in this build (a
 * Windows DLL's constructors run under the loader lock, where it may not). */
bool mproc__os_constructor_entry_allowed(void);

/* ---- threads (thread.c) -------------------------------------------------- */

typedef struct mproc__os_mutex mproc__os_mutex_t;
int mproc__os_mutex_new(mproc__os_mutex_t **out);
void mproc__os_mutex_lock(mproc__os_mutex_t *m);
void mproc__os_mutex_unlock(mproc__os_mutex_t *m);
void mproc__os_mutex_free(mproc__os_mutex_t *m);

/* A condition variable over an mproc__os_mutex_t (pool results). */
typedef struct mproc__os_cond mproc__os_cond_t;
int mproc__os_cond_new(mproc__os_cond_t **out);
/* Waits up to timeout_ms (MPROC_INFINITE); 0 when woken (or spuriously),
 * MPROC_ETIMEDOUT. The mutex is held again on return. */
int mproc__os_cond_wait(mproc__os_cond_t *c, mproc__os_mutex_t *m, int timeout_ms);
void mproc__os_cond_broadcast(mproc__os_cond_t *c);
void mproc__os_cond_free(mproc__os_cond_t *c);

/* A thread of this process running fn(arg) (a pool's handler). */
typedef struct mproc__os_thread mproc__os_thread_t;
int mproc__os_thread_start(mproc__os_thread_t **out, void (*fn)(void *arg), void *arg);
/* Waits for it to end and frees it. */
void mproc__os_thread_join(mproc__os_thread_t *t);
/* Whether the caller is that thread. */
bool mproc__os_thread_is_current(const mproc__os_thread_t *t);

/* A pool worker: Ctrl-C (SIGINT, the console's Ctrl+C event) goes to the
 * parent, which decides; the worker ignores it. */
void mproc__os_ignore_interrupts(void);

/* Lets another runnable thread have the CPU (a spinning thread that
 * must not keep out the one it waits for). */
void mproc__os_yield(void);
/* The CPU the calling thread runs on now, -1 where it cannot be told: a
 * spinning thread that shares its CPU with the one it waits for yields at
 * once, since spinning there only delays the answer. */
int mproc__os_current_cpu(void);
/* How many threads this process runs; 0 when it cannot be told. */
int mproc__os_thread_count(void);
/* Whether the caller is the process's first thread. */
bool mproc__os_is_main_thread(void);

/* ---- who is running (self.c) --------------------------------------------- */

/* This process's and thread's ids, as the OS tells them (the pid cached
 * on POSIX, refreshed after fork). Callers take them through
 * core/self_ids.h's mproc__self_ids, which keeps both per thread: on
 * POSIX systems without gettid each call here numbers the thread anew. */
void mproc__os_self_ids(uint32_t *pid, uint32_t *tid);
/* A token that tells this process from a later one with the same pid (its
 * start time); 0 where there is none. */
uint64_t mproc__os_self_start_token(void);
/* Another process's start token, read while it is known to run (it just
 * spoke): 0 where there is none. */
uint64_t mproc__os_process_start_token(uint32_t pid);
/* Whether process pid has ended: gone, a zombie, or its pid now names a
 * later process (start: the low 32 bits of its start token; 0: unknown). */
bool mproc__os_process_gone(uint32_t pid, uint32_t start);

/* ---- anonymous shared memory (shm.c) ------------------------------------ */

/* A zero-filled region of size bytes with no name (a memfd, or a pagefile-
 * backed section): it lives while a handle or a mapping of it does. The
 * handle is not inheritable; pass it on with the handle table. */
int mproc__os_shm_new(size_t size, intptr_t *handle);
/* The same for a region shared with a peer the maker does not trust (a
 * manager's client): no holder of a handle can shrink it under the maker's
 * mapping (which would fault the maker). Linux seals the memfd; a Windows
 * section never changes size. MPROC_ENOTSUP where neither holds (other
 * POSIX systems). */
int mproc__os_shm_new_sealed(size_t size, intptr_t *handle);
int mproc__os_shm_map(intptr_t handle, size_t size, void **p);
void mproc__os_shm_unmap(void *p, size_t size);

/* ---- named shared memory (shm_named.c) --------------------------------- */

/* One process's view of a named segment. */
typedef struct {
  intptr_t handle; /* the descriptor or section handle, kept while mapped */
  void *mem;
  size_t size;   /* as created */
  size_t mapped; /* what is mapped: whole pages, >= size */
} mproc__os_named_shm_t;

/* Creates and maps a zeroed segment of size bytes named name (checked by
 * the caller: [A-Za-z0-9_.-]+); MPROC_EEXIST when the name is taken.
 * name NULL: a segment with no name, which lives while a handle or a
 * mapping of it does. */
int mproc__os_shm_create_named(const char *name, size_t size, mproc__os_named_shm_t *out);
/* Opens and maps one; MPROC_ENOENT when there is none (or, on Windows, it
 * was unlinked). */
int mproc__os_shm_open_named(const char *name, mproc__os_named_shm_t *out);
/* Maps a segment from a handle another process passed on (taken over,
 * closed on failure); size is what the sender said: MPROC_EPROTO when the
 * segment's own size differs. */
int mproc__os_shm_attach_named(intptr_t handle, size_t size, mproc__os_named_shm_t *out);
/* Removes the name (POSIX) or marks the segment unlinked (Windows, where a
 * name lives as long as its last handle); MPROC_ENOENT when already gone. */
int mproc__os_shm_unlink_named(const char *name, mproc__os_named_shm_t *shm);
void mproc__os_shm_close_named(mproc__os_named_shm_t *shm);
/* Ties a named segment to this process's life (shm_tracker.c): once the
 * process - and, on POSIX, its forked children - have ended, however they
 * ended, the name is unlinked unless mproc__os_shm_untrack came first.
 * Windows: a no-op returning 0 (a section goes with its last handle). */
int mproc__os_shm_track(const char *name);
void mproc__os_shm_untrack(const char *name);

/* ---- waiting on a word in shared memory (park.c) ------------------------ */

/* A 32-bit word processes wait on (futex semantics), and the count of
 * processes waiting on it, kept by mproc__os_park_wait so a wake with no
 * waiter costs no system call. Both live in shared memory. */
typedef struct {
  _Atomic uint32_t word;
  _Atomic uint32_t waiters;
} mproc__park_word_t;

#define MPROC__WAKE_ALL UINT32_MAX

/* Tells the CPU the caller is spinning (x86 PAUSE, ARM YIELD). */
static inline void mproc__os_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

/* The per-word kernel object waiting needs: -1 on Linux (futex needs none),
 * an unnamed semaphore on Windows. */
int mproc__os_park_new(intptr_t *handle);
/* Whether mproc__os_park_new makes real handles (to pass on). */
bool mproc__os_park_has_handles(void);
/* Sleeps while w->word == expected, up to timeout_ms (MPROC_INFINITE).
 * Returns 0 when woken, when the word differed, or spuriously; callers
 * re-check. MPROC_ETIMEDOUT when the time ran out. */
int mproc__os_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected, int timeout_ms);
/* Wakes at most n processes sleeping on w (MPROC__WAKE_ALL: all). */
void mproc__os_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n);

/* For a backend whose wait words have a token object each (Windows'
 * semaphores, generic POSIX FIFOs): the sleeping and waking protocol,
 * written once (common/token_park.c). take waits up to ms for one token
 * and says whether it got one; put adds n. */
typedef bool (*mproc__take_token_fn)(intptr_t handle, int ms);
typedef void (*mproc__put_tokens_fn)(intptr_t handle, uint32_t n);
int mproc__token_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected,
                           int timeout_ms, mproc__take_token_fn take);
void mproc__token_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n,
                            mproc__put_tokens_fn put);

/* ---- a doorbell for mproc_wait on a queue (doorbell.c) ------------------- */

/* A kernel object mproc__os_wait_handles can wait on that stays ready from
 * a ring until a clear, shared by every process holding the queue: an
 * eventfd (Linux), a manual-reset event (Windows). *handle = -1 where there
 * is none (other POSIX systems: mproc_wait polls the queue instead). */
int mproc__os_doorbell_new(intptr_t *handle);
void mproc__os_doorbell_ring(intptr_t handle);
void mproc__os_doorbell_clear(intptr_t handle);

/* ---- byte streams between a parent and its child (stream.c) ------------- */

/* One end of the private channel that carries the bootstrap message to a
 * spawned child and the child's report back. POSIX: one socket (rd == wr);
 * Windows: two pipe handles. */
typedef struct {
  intptr_t rd;
  intptr_t wr;
} mproc__stream_t;

#define MPROC__STREAM_NONE ((intptr_t)-1)

/* Writes all n bytes. MPROC_EEOF if the peer is gone. */
int mproc__os_stream_write(mproc__stream_t *s, const void *p, size_t n);
/* Reads until n bytes arrived or the peer closed; *got says how many. */
int mproc__os_stream_read(mproc__stream_t *s, void *p, size_t n, size_t *got);
/* Reads at most n bytes that are already there, without blocking. */
int mproc__os_stream_read_now(mproc__stream_t *s, void *p, size_t n, size_t *got);
/* Closes both directions; safe to call twice. */
void mproc__os_stream_close(mproc__stream_t *s);
/* In a spawned child: the stream named by the token that follows the
 * --mproc-child marker. MPROC_EPROTO for a token that names no stream. */
int mproc__os_stream_from_token(const char *token, mproc__stream_t *s);

/* ---- parent link (parent_link.c) ----------------------------------------- */

/* Every child can tell when its parent is gone: POSIX passes the read end of
 * a pipe whose only writer is the parent (end-of-file at its death), Windows
 * an inherited handle to the parent process. */

/* Parent: the link its children inherit (created on first use). */
int mproc__os_parent_link(intptr_t *link);
/* Forked child: drop the parent's side of its own link (the pipe's writer)
 * and start afresh for its own children. */
void mproc__os_parent_link_after_fork(void);
/* Child: remember the link; for a daemon, make sure it dies with its parent
 * (Linux: PR_SET_PDEATHSIG when pdeathsig_ok, i.e. it was started from the
 * parent's main thread; else a watchdog thread on the link). */
int mproc__os_parent_watch(intptr_t link, int64_t parent_pid, bool daemon, bool pdeathsig_ok);
/* Whether a sentinel (link, pidfd, handle) is ready: its process ended. */
bool mproc__os_sentinel_ready(intptr_t s);

/* ---- a memory cap for child processes (memcap_*.c) ---------------------- */

/* A limit on the memory of the processes put in it, enforced by the OS:
 * Linux a cgroup of its own (v2 memory.max, else v1
 * memory.limit_in_bytes), whose OOM killer stops a process past it;
 * Windows a job object with a ProcessMemoryLimit (one process per cap),
 * whose watch thread ends a process the limit refused or found past it.
 * MPROC_ENOTSUP where none can be made (the detail says what is missing:
 * no memory controller this process may create cgroups under, another
 * system). */
typedef struct mproc__os_memcap mproc__os_memcap_t;
int mproc__os_memcap_new(uint64_t bytes, mproc__os_memcap_t **out);
/* Puts the running child pid in cap. */
int mproc__os_memcap_add(mproc__os_memcap_t *cap, int64_t pid);
/* Whether cap stopped a process in it (its OOM killer killed one; on
 * Windows its watch ended it, with exit code -9). */
bool mproc__os_memcap_hit(mproc__os_memcap_t *cap);
/* A sentinel (mproc_waitable_sentinel) that becomes ready when cap's OOM
 * killer acts - before the kernel has torn the process down, which for a
 * large one takes milliseconds; -1 where there is none. */
intptr_t mproc__os_memcap_sentinel(const mproc__os_memcap_t *cap);
/* What enforces it, for messages: "cgroup v1 memory.limit_in_bytes". */
const char *mproc__os_memcap_kind(const mproc__os_memcap_t *cap);
/* Removes it; its processes have ended. NULL is ignored. */
void mproc__os_memcap_free(mproc__os_memcap_t *cap);

/* ---- connections (conn.c) ------------------------------------------------ */

/* One end of a byte stream between processes: a socket (POSIX) or an
 * overlapped named-pipe handle (Windows). */
typedef struct mproc__os_conn mproc__os_conn_t;
typedef struct mproc__os_child mproc__os_child_t; /* see "children" below */

/* A connected pair; one-way: a only receives, b only sends. */
int mproc__os_conn_pair(mproc__os_conn_t **a, mproc__os_conn_t **b, bool duplex);
/* Wraps a handle this process owns (inherited or duplicated). */
int mproc__os_conn_wrap(mproc__os_conn_t **out, intptr_t handle);
/* A new handle to the same stream, not inheritable; the caller owns it. */
int mproc__os_conn_dup_handle(const mproc__os_conn_t *c, intptr_t *handle);
int mproc__os_dup_handle(intptr_t h, intptr_t *out);
int mproc__os_conn_write(mproc__os_conn_t *c, const void *p, size_t n);
/* Blocks until n bytes or end-of-file; *got says how many. */
int mproc__os_conn_read(mproc__os_conn_t *c, void *p, size_t n, size_t *got);
/* Blocks until at least one byte or end-of-file, then takes what is there,
 * up to cap; *got 0 at end-of-file. MPROC_ENOTSUP where reads cannot stop
 * short (Windows' overlapped pipes): then no connection reads ahead. */
int mproc__os_conn_read_some(mproc__os_conn_t *c, void *p, size_t cap, size_t *got);
/* The same without waiting: *got 0 when nothing is there yet; MPROC_EEOF
 * at end-of-file; MPROC_ENOTSUP where reads cannot stop short. */
int mproc__os_conn_read_now(mproc__os_conn_t *c, void *p, size_t cap, size_t *got);
/* Passes n handles to the process at the other end of c: a running child
 * `to` (a pool's tasks whose arguments hold objects), or, `to` NULL, the
 * peer of a local connection (a manager's client); in order. The receiver
 * takes them with mproc__os_conn_recv_handles, each its own. POSIX:
 * SCM_RIGHTS; Windows: each duplicated into that process (a socket: shared
 * for it with WSADuplicateSocketW), its value written; with `to` NULL, c
 * must be a pipe (its peer's id is the pipe's; MPROC_ENOTSUP for a
 * socket). The caller keeps its handles. */
int mproc__os_conn_send_handles(mproc__os_conn_t *c, const mproc__os_child_t *to, const intptr_t *h,
                                size_t n);
/* Receives the n handles sent so; this process owns them. */
int mproc__os_conn_recv_handles(mproc__os_conn_t *c, intptr_t *h, size_t n);
/* Readiness (data or end-of-file) for waits: *waitable is a handle for
 * mproc__os_wait_handles; *ready_now when it is ready already. Every arm
 * is followed by one disarm. */
int mproc__os_conn_arm(mproc__os_conn_t *c, intptr_t *waitable, bool *ready_now);
void mproc__os_conn_disarm(mproc__os_conn_t *c);
/* How many bytes c can read now without blocking (0 at end-of-file). */
int mproc__os_conn_available(mproc__os_conn_t *c, size_t *n);
/* Makes every read and write of c, pending or later, fail at once
 * (end-of-file or MPROC_ECLOSED), from any thread; c stays to be freed. */
void mproc__os_conn_cancel(mproc__os_conn_t *c);
void mproc__os_conn_free(mproc__os_conn_t *c);

/* ---- listeners and clients (listener.c) --------------------------------- */

typedef enum { MPROC__ADDR_UNIX = 1, MPROC__ADDR_PIPE, MPROC__ADDR_TCP } mproc__addr_kind_t;
typedef struct mproc__os_listener mproc__os_listener_t;

/* An address, parsed and checked by the common layer. */
typedef struct {
  mproc__addr_kind_t kind;
  const char *where; /* what follows the prefix: a path, a pipe name, or host:port */
  char host[256];    /* tcp: the host, without [] around an IPv6 address */
  char port[6];      /* tcp: the port, 0 to 65535 in decimal */
} mproc__addr_t;

/* Listens at a. *actual receives the address as bound (the port chosen
 * for port 0). */
int mproc__os_listen(mproc__os_listener_t **out, const mproc__addr_t *a, int backlog, char *actual,
                     size_t cap);
/* MPROC_ETIMEDOUT when nobody connects in time. */
int mproc__os_accept(mproc__os_listener_t *l, int timeout_ms, mproc__os_conn_t **out);
/* Connects by the deadline (ms on the monotonic clock, -1: none):
 * MPROC_ETIMEDOUT when the listener does not take the connection in time. */
int mproc__os_connect(const mproc__addr_t *a, int64_t deadline, mproc__os_conn_t **out);
void mproc__os_listener_free(mproc__os_listener_t *l);
/* A fresh address no one else uses, for a listener of this machine only:
 * "unix:<tmp>/mproc-<pid>-<random>.sock" or "pipe:\\.\pipe\mproc-...". */
int mproc__os_private_address(char *buf, size_t cap);

/* ---- crypto: the platform's, never our own (win32/crypto.c; posix/random.c
 *      and posix/hmac_libcrypto.c or, on Apple, posix/hmac_commoncrypto.c) -- */

int mproc__os_random(void *buf, size_t n);
int mproc__os_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                          unsigned char out[32]);

/* ---- function identity across exec (fnref.c) ---------------------------- */

/* A function as "offset inside a module", valid in another process running
 * the same build. module is malloc'd (free with mproc__fnref_clear). */
typedef struct {
  char *module;         /* path of the module; "" for the main executable */
  bool is_main;         /* the module is the main executable */
  unsigned char id[64]; /* build identity of the module */
  size_t id_len;
  uint64_t offset; /* function address minus module base */
} mproc__fnref_t;

typedef void (*mproc__fn_t)(void);

int mproc__os_fnref_make(mproc__fn_t fn, mproc__fnref_t *ref);
/* MPROC_ECHILD-worthy failures (module not loaded, other build, offset
 * outside the module's code) return MPROC_EPROTO with a detail. */
int mproc__os_fnref_resolve(const mproc__fnref_t *ref, mproc__fn_t *fn);

/* ---- children (child.c, spawn.c, fork.c) -------------------------------- */

/* How one handle of the table reaches a spawned child: inherited (value: its
 * value there), or as bytes the child turns into its own handle with
 * mproc__os_handle_import (a Windows socket: a WSAPROTOCOL_INFOW made for
 * that child, since sockets must not be inherited or DuplicateHandle'd). */
typedef struct {
  intptr_t value;
  unsigned char *blob; /* malloc'd; NULL for an inherited handle */
  size_t blob_len;
} mproc__child_handle_t;

/* Child: the handle described by an exported blob. MPROC_EPROTO for bytes
 * this platform never exports. */
int mproc__os_handle_import(const void *blob, size_t len, intptr_t *out);

typedef struct {
  const char *exe;                  /* NULL: the running executable */
  const char *marker;               /* argv[1] of the child: what tells it is a child */
  bool daemon;                      /* dies with this process, even if it is killed */
  const intptr_t *inherit;          /* descriptors / HANDLEs to pass on (the handle table) */
  size_t ninherit;                  /* as many as the OS allows */
  mproc__child_handle_t *inherited; /* ninherit entries: receive how the child gets each
                                       (blobs malloc'd; the caller frees them) */
} mproc__spawn_opts_t;

/* Starts the executable with the arguments <marker> <token> and a private
 * channel; *parent_end receives this side of it. The child inherits the
 * channel, this process's parent link (see below; *child_link receives
 * the value the child sees), the handle table and the standard streams
 * only. MPROC_ECHILD (with the OS reason) when the executable cannot be
 * run. */
int mproc__os_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                    mproc__stream_t *parent_end, intptr_t *child_link);

/* Forks; the child calls child_main(ctx) and exits with its return value
 * without running the parent's atexit handlers. The child inherits the
 * parent link as it is (*child_link: its value there). MPROC_ENOTSUP on
 * Windows. */
int mproc__os_fork(mproc__os_child_t **out, int (*child_main)(void *ctx), void *ctx,
                   intptr_t *child_link);
bool mproc__os_fork_supported(void);

/* Confirms that the child exists, once the caller has sent it its
 * bootstrap message: a forkserver child's pid comes back from the server
 * (MPROC__ESERVER_GONE when the server died first: nothing runs; another
 * error when its fork failed). 0 at once for the other methods. */
int mproc__os_child_started(mproc__os_child_t *c);
int64_t mproc__os_child_pid(const mproc__os_child_t *c);
/* Waits up to timeout_ms (MPROC_INFINITE, 0 = poll) for the child to end.
 * 0 with *exitcode normalised (exit status, -N for signal N), or
 * MPROC_ETIMEDOUT. Once ended, returns the same result again. Safe to call
 * from several threads at once, and with mproc__os_child_stop. */
int mproc__os_child_wait(mproc__os_child_t *c, int timeout_ms, int *exitcode);
/* A waitable handle that becomes ready when the child ends: a pidfd
 * (Linux) or the process handle (Windows); -1 when there is none. Owned by
 * the child handle. */
intptr_t mproc__os_child_sentinel(const mproc__os_child_t *c);
/* Waits until at least one handle (sentinels: pidfds/fds, or HANDLEs) is
 * ready and sets ready[i] for every ready one: 0, or MPROC_ETIMEDOUT. */
int mproc__os_wait_handles(const intptr_t *handles, size_t n, int timeout_ms, bool *ready);
/* terminate (force = false) or kill (force = true); no-op after the end. */
int mproc__os_child_stop(mproc__os_child_t *c, bool force);
/* Releases the handle; does not wait or stop. */
void mproc__os_child_free(mproc__os_child_t *c);

/* ---- forkserver (forkserver.c) ------------------------------------------ */

/* The forkserver start method (forkserver.c): the same contract as
 * mproc__os_spawn (o->exe and o->marker aside: the server's own), served by
 * the server at the end of ctl; the child also gets the caller's standard
 * streams as they are now. MPROC__ESERVER_GONE when the server is not there
 * to take the request (it died): nothing was started. Follow with
 * mproc__os_child_started once the bootstrap message is sent. */
int mproc__os_forkserver_fork(intptr_t ctl, mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                              mproc__stream_t *parent_end, intptr_t *child_link);
#define MPROC__ESERVER_GONE (-1000) /* internal: never returned by a public function */
/* The server's loop, run as the target of a spawned process; returns when
 * ctl reaches end-of-file (its parent is gone or done). Each forked child
 * calls child_entry with its channel token and never comes back. */
int mproc__os_forkserver_serve(intptr_t ctl, void (*child_entry)(const char *token));
bool mproc__os_forkserver_supported(void);
/* A connected pair for the server's control channel, close-on-exec. */
int mproc__os_control_pair(intptr_t *mine, intptr_t *theirs);
void mproc__os_close_handle(intptr_t h);

#endif
