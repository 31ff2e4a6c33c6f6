/* The pool's inside, shared by its files (see pool.c for the whole).
 *
 * Calls flow one way:
 *   pool.c (lifecycle), pool_submit.c
 *     -> pool_thread.c -> pool_schedule.c, pool_intake.c
 *     -> pool_local.c, pool_remote.c (the two kinds of members)
 *     -> pool_tasks.c -> this header.
 * The core (thread, schedule, intake, submit, lifecycle) knows its workers
 * only through mproc__members_t: processes of ours (pool_local.c) and
 * workers behind an mproc_pool_backend_t, MPI ranks say (pool_remote.c),
 * are two implementations of it. */
#ifndef MPROC_POOL_TYPES_H
#define MPROC_POOL_TYPES_H

#include "args/fnref.h"
#include "core/ptrlist.h"
#include "mproc/pool.h"
#include "mproc/pool_backend.h"
#include "pool/pool_internal.h"
#include "pool/pool_wire.h"

enum {
  MPROC__POOL_INIT_FAILURES = 3, /* failed starts in a row: the pool is broken */
  MPROC__POOL_RESULT_BYTES = 1024 * 1024
};

/* One task: an apply, a chunk of a map or a range, as a worker reads it. */
typedef struct mproc__task {
  struct mproc__task *next;
  uint64_t id;
  mproc_async_result_t *r;
  size_t first, count; /* items of r */
  mproc__buf_t msg;    /* the task as the worker reads it */
  mproc__handle_table_t handles;
  int timeout_ms;
} mproc__task_t;

typedef struct {
  mproc__task_t *head, *tail;
  size_t n;
} mproc__task_list_t;

typedef enum {
  MPROC__MEMBER_EMPTY,
  MPROC__MEMBER_LIVE,
  MPROC__MEMBER_STOPPING /* being started, its place reserved */
} mproc__member_state_t;

/* One place in the pool and the worker in it. proc, inbox and channel
 * belong to processes of ours; a worker elsewhere has none of them. */
typedef struct {
  mproc__member_state_t state;
  mproc_process_t *proc;
  mproc_queue_t *inbox;
  mproc_conn_t *channel;   /* handles go to the worker here, and come back with results */
  mproc__task_list_t held; /* tasks in its inbox or running, in order */
  uint64_t given;          /* tasks given so far (maxtasksperchild) */
  int64_t pid;
  int64_t last_result_us;     /* when its last result came */
  int64_t task_us;            /* a moving average of its time per task, busy */
  int kill_reason;            /* 0, MPROC_ETASKTIMEOUT or MPROC_ECANCELED: why we killed it */
  mproc__os_memcap_t *memcap; /* its memory cap (opts.worker_memory_limit), or NULL */
  uint64_t kill_task;
  bool init_failed;
  bool stop_sent;
} mproc__member_t;

typedef enum {
  MPROC__POOL_RUNNING,
  MPROC__POOL_CLOSED,
  MPROC__POOL_TERMINATING
} mproc__pool_state_t;

/* What the core asks of the pool's workers, whichever they are. Called
 * under the core's lock unless an op says otherwise; an op that is NULL
 * does nothing for these members. */
typedef struct {
  /* Makes what the members share (result queue, slot table) for p->n. */
  int (*open)(mproc_pool_t *p);
  /* Starts member i in mproc_pool_new, from the calling thread. */
  int (*start)(mproc_pool_t *p, int i);
  /* Sends task t to member i (the core then counts it as held). */
  int (*send)(mproc_pool_t *p, int i, const mproc__task_t *t);
  /* A send to i failed: true when i is gone for good (the round goes on
   * with the others), false when the task waits for the next round. */
  bool (*send_failed)(mproc_pool_t *p, int i);
  /* Tells member i to stop after what it holds; 0 when sent. */
  int (*send_stop)(mproc_pool_t *p, int i);
  /* How messages name member i: "PoolWorker-3 (pid 123)", "MPI rank 2". */
  void (*describe)(const mproc_pool_t *p, int i, char *buf, size_t cap);
  /* The task member i holds first changed (workers that run their tasks
   * strictly in order, and have no slot of their own to say so). */
  void (*head_changed)(mproc_pool_t *p, int i);
  /* Receives the n handles member i sent ahead of its result (their
   * objects are in it). NULL: members that send none. */
  int (*recv_handles)(mproc_pool_t *p, int i, intptr_t *h, size_t n);
  /* Takes every result there is now (mproc__pool_record each). Without
   * the lock. */
  bool (*drain)(mproc_pool_t *p);
  /* Members that ended or went silent: their tasks are settled. */
  bool (*find_ended)(mproc_pool_t *p);
  /* Stops member i, whose task `task` must end with why (a time limit,
   * a cancel). */
  void (*stop)(mproc_pool_t *p, int i, int why, uint64_t task);
  /* mproc_pool_terminate: member i ends now, what it holds failing. */
  void (*terminate)(mproc_pool_t *p, int i);
  /* The grace after terminate has passed: what still lives is killed. */
  void (*kill_all)(mproc_pool_t *p);
  /* Empty places get new members. May drop the lock. */
  bool (*replace)(mproc_pool_t *p);
  /* An idle member takes tasks another holds and has not begun. */
  bool (*rebalance)(mproc_pool_t *p);
  /* Looks a moment for a result before the pool's thread sleeps; true
   * when one (or a submission) came. May drop the lock. */
  bool (*linger)(mproc_pool_t *p);
  /* Sleeps until a result, a wakeup, a member's end or timeout_ms. Drops
   * the lock. */
  void (*sleep)(mproc_pool_t *p, int timeout_ms);
  /* Wakes the sleep above, beside the pool's own wake pipe. */
  void (*wake)(mproc_pool_t *p);
  /* Member i's initializer failed (status, msg); member i said it stopped. */
  void (*init_failed)(mproc_pool_t *p, int i, int status, const char *msg);
  void (*stopped)(mproc_pool_t *p, int i);
  /* Frees member i's pieces (its place becomes empty). */
  void (*release)(mproc_pool_t *p, int i);
  /* Lets go of what open made, and of the backend. */
  void (*close)(mproc_pool_t *p);
  /* Tasks may carry IPC objects' handles to these members. */
  bool carries_handles;
  /* A member is told to stop only when it holds nothing (else the stop
   * goes behind what it holds). */
  bool stops_when_idle;
  /* Among members as loaded, the one heard from last gets the next task
   * (it is still polling; one idle longer sleeps between polls). */
  bool prefers_recent;
  /* A library error there is prefixed with the member's name: it may be
   * another build, on another machine. */
  bool names_errors;
  /* Why a pool whose initializer keeps failing is broken. */
  const char *init_broken;
} mproc__members_t;

extern const mproc__members_t mproc__local_members;  /* pool_local.c */
extern const mproc__members_t mproc__remote_members; /* pool_remote.c */

struct mproc_pool {
  mproc__pool_core_t *core; /* its lock guards everything below */
  mproc_pool_opts_t o;
  const mproc__members_t *members;
  const mproc_pool_backend_t *backend; /* the members' backend (pool_remote.c), or NULL */
  bool backend_open;
  void *own_slots; /* the slot table when workers are elsewhere */
  bool adaptive;   /* opts.prefetch was 0: deeper inboxes for short tasks */
  int n;
  mproc__member_t *w;
  mproc_queue_t *results;
  mproc_array_t *slot_array;
  mproc__worker_slot_t *slots;
  mproc_args_t *initargs;
  unsigned char init_fn[MPROC__FNREF_PACKED_MAX];
  size_t init_fn_len;
  mproc_conn_t *wake_rd, *wake_wr;
  mproc__os_thread_t *thread;
  bool quit, sleeping;
  bool kicked; /* wake was called since the pool's thread last looked */
  bool slept;  /* it slept since it last looked for ended members */
  mproc__pool_state_t state;
  int64_t grace_deadline;
  int broken; /* 0, or MPROC_EINIT */
  int init_failures;
  char init_why[MPROC__RESULT_MESSAGE_MAX + 1]; /* the last failed start's reason */
  int next_worker;                              /* where the search for the least loaded starts */
  uint64_t next_id;
  mproc__task_list_t queue;
  mproc__ptrlist_t due; /* results whose callbacks are due */
  bool in_callbacks;    /* the pool's thread is running some (join waits) */
  unsigned char *rbuf;  /* the pool thread's buffer for results */
  size_t rcap;
  int64_t last_liveness_ms;
  uint64_t started, died, recycled, done, failed, worker_seq;
};

/* pool_tasks.c: task lists, and the outcomes of tasks and members. */
void mproc__tasks_push(mproc__task_list_t *l, mproc__task_t *t);
mproc__task_t *mproc__tasks_pop(mproc__task_list_t *l);
void mproc__tasks_push_front(mproc__task_list_t *l, mproc__task_t *t);
void mproc__tasks_append(mproc__task_list_t *to, mproc__task_list_t *from);
void mproc__tasks_prepend(mproc__task_list_t *to, mproc__task_list_t *from);
/* Takes task id out of what member w holds; NULL when it holds no such. */
mproc__task_t *mproc__tasks_take(mproc__member_t *w, uint64_t id);
void mproc__task_free(mproc__task_t *t);
void mproc__pool_member_name(const mproc_pool_t *p, int i, char *buf, size_t cap);
void mproc__pool_sign(const mproc_pool_t *p, int i, mproc_task_error_t *e);
void mproc__pool_sign_as(mproc_task_error_t *e, const mproc_task_error_t *like);
void mproc__pool_chunk_done(mproc_pool_t *p, mproc_async_result_t *r);
void mproc__pool_fail_task(mproc_pool_t *p, mproc__task_t *t, const mproc_task_error_t *e);
void mproc__pool_fail_queue(mproc_pool_t *p, int code, const char *why);
void mproc__pool_settle_held(mproc_pool_t *p, mproc__member_t *w, uint64_t running,
                             const mproc_task_error_t *e_run, uint64_t kill_task,
                             const mproc_task_error_t *e_kill);
bool mproc__pool_work_left(const mproc_pool_t *p);
unsigned mproc__pool_live_members(const mproc_pool_t *p);

/* pool_schedule.c: handing tasks out, time limits, stops. The task member
 * i began and has not delivered (running, or returned with its result not
 * yet put), 0: none - the one its death or a kill fails. */
uint64_t mproc__pool_begun_task(const mproc_pool_t *p, int i);
bool mproc__pool_may_take(const mproc_pool_t *p, const mproc__member_t *w);
int mproc__pool_give(mproc_pool_t *p, int i, mproc__task_t *t);
bool mproc__pool_dispatch(mproc_pool_t *p);
int mproc__pool_enforce_limits(mproc_pool_t *p, int64_t now);
void mproc__pool_stop_idle(mproc_pool_t *p);
void mproc__pool_stop_member(mproc_pool_t *p, int i, int why, uint64_t task);

/* pool_intake.c: results as they come, callbacks when due. */
void mproc__pool_record(mproc_pool_t *p, const unsigned char *m, size_t len);
void mproc__pool_run_due(mproc_pool_t *p);

/* pool_thread.c */
void mproc__pool_wake(mproc_pool_t *p);
void mproc__pool_drain_wakeups(mproc_pool_t *p);
void mproc__pool_thread(void *arg);

#endif
