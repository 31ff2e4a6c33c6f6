/* Semaphore and BoundedSemaphore: the value is the park word itself, so
 * acquire and release are one compare-and-swap each; release makes a
 * system call only when someone sleeps. */
#include "sync/sync_object.h"

struct mproc_sem {
  mproc__sync_t s;
};

typedef struct {
  mproc__park_word_t value;
  uint32_t max; /* the bound: the initial value, or MPROC_SEM_VALUE_MAX */
} sem_state_t;

static sem_state_t *state(const mproc_sem_t *s) { return s->s.mem; }

static const mproc__sync_kind_t sem_kind = {"sem", sizeof(mproc_sem_t), sizeof(sem_state_t), 1};

int mproc_sem_new(mproc_sem_t **out, unsigned value, const mproc_sem_opts_t *opts) {
  if (value > MPROC_SEM_VALUE_MAX)
    return mproc__fail(MPROC_EINVAL, "sem_new: value %u is above MPROC_SEM_VALUE_MAX", value);
  if (opts && MPROC__CHECK_RESERVED("sem_new", opts))
    return MPROC_EINVAL;
  int rc = mproc__sync_object_new(&sem_kind, (void **)out);
  if (rc)
    return rc;
  atomic_store(&state(*out)->value.word, value);
  state(*out)->max = opts && opts->bounded ? value : MPROC_SEM_VALUE_MAX;
  return 0;
}

int mproc_sem_acquire(mproc_sem_t *s, int timeout_ms) {
  if (!s)
    return mproc__fail(MPROC_EINVAL, "sem_acquire: semaphore is NULL");
  int rc = mproc__check_timeout("sem_acquire", timeout_ms);
  if (rc)
    return rc;
  _Atomic uint32_t *word = &state(s)->value.word;
  int64_t deadline = -2; /* computed once the first try fails */
  for (;;) {
    uint32_t v = atomic_load(word);
    if (v > 0) {
      if (atomic_compare_exchange_weak(word, &v, v - 1))
        return 0;
      continue;
    }
    if (deadline == -2) {
      if (timeout_ms != 0 && mproc__spin_while(word, 0))
        continue;
      deadline = mproc__deadline(timeout_ms);
    }
    if (mproc__sync_wait(&s->s, 0, &state(s)->value, 0, deadline) == MPROC_ETIMEDOUT &&
        atomic_load(word) == 0)
      return mproc__sync_timed_out(&s->s, "acquire");
  }
}

int mproc_sem_release(mproc_sem_t *s) {
  if (!s)
    return mproc__fail(MPROC_EINVAL, "sem_release: semaphore is NULL");
  _Atomic uint32_t *word = &state(s)->value.word;
  uint32_t max = state(s)->max;
  uint32_t v = atomic_load(word);
  do {
    if (v >= max)
      return mproc__fail(MPROC_ERANGE, "sem_release: released too many times (value %u)", v);
  } while (!atomic_compare_exchange_weak(word, &v, v + 1));
  mproc__sync_wake(&s->s, 0, &state(s)->value, 1);
  return 0;
}

int mproc_sem_value(const mproc_sem_t *s) {
  if (!s)
    return mproc__fail(MPROC_EINVAL, "sem_value: semaphore is NULL");
  return (int)atomic_load(&state(s)->value.word);
}

void mproc_sem_free(mproc_sem_t *s) { mproc__sync_object_free(s); }

MPROC__SYNC_CLASS(mproc__sem_class, MPROC_T_SEM, sem_kind, "sem")
MPROC__ARGS_ACCESSORS(sem, mproc_sem_t, mproc__sem_class)
