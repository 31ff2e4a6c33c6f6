/* Shared memory: Value and Array of every element type seen by two
 * processes (under whatever start method MPROC_START_METHOD names), exact
 * totals with the lock and with the atomic helpers, 1-byte and 256 MiB
 * arrays, a killed holder leaving nothing behind, and named segments
 * shared with an unrelated process (this program started again). */
#include "test_util.h"

#ifdef _WIN32
#  include <windows.h>
#else
#  include <dirent.h>
#  include <fcntl.h>
#  include <signal.h>
#  include <spawn.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <unistd.h>
extern char **environ;
#endif

#define N_TYPES (MPROC_T_CHAR - MPROC_T_I8 + 1)
#define ARRAY_LEN 5
#define PROCS 4
#define INCREMENTS 100000

static mproc_type_t type_at(int i) { return (mproc_type_t)(MPROC_T_I8 + i); }

/* The bytes of the i-th object in round r: each round, type and byte
 * differs, so a stale or misplaced byte shows. */
static void fill(void *p, size_t n, int i, int r) {
  for (size_t k = 0; k < n; k++)
    ((unsigned char *)p)[k] = (unsigned char)(r * 100 + i * 7 + k + 1);
}

static bool filled(const void *p, size_t n, int i, int r) {
  for (size_t k = 0; k < n; k++)
    if (((const unsigned char *)p)[k] != (unsigned char)(r * 100 + i * 7 + k + 1))
      return false;
  return true;
}

/* ---- every element type, both ways ----------------------------------------- */

/* args: N_TYPES raw Values, then N_TYPES raw Arrays. Checks round 1 and
 * writes round 2. */
static int t_every_type(const mproc_args_t *args) {
  for (int i = 0; i < N_TYPES; i++) {
    mproc_value_t *v;
    mproc_array_t *a;
    if (mproc_args_get_value(args, (size_t)i, &v) ||
        mproc_args_get_array(args, (size_t)(N_TYPES + i), &a))
      return 1;
    size_t size = mproc_type_size(type_at(i));
    if (mproc_value_type(v) != type_at(i) || mproc_array_type(a) != type_at(i) ||
        mproc_array_len(a) != ARRAY_LEN || mproc_value_lock(v) || mproc_array_lock(a))
      return 2;
    if (!filled(mproc_value_ptr(v), size, i, 1) ||
        !filled(mproc_array_ptr(a), size * ARRAY_LEN, i + N_TYPES, 1))
      return 3;
    fill(mproc_value_ptr(v), size, i, 2);
    fill(mproc_array_ptr(a), size * ARRAY_LEN, i + N_TYPES, 2);
  }
  return 0;
}

static void value_every_type_across_processes(void **state) {
  mproc_value_opts_t raw = {.lock = MPROC_NO_LOCK};
  mproc_value_t *v[N_TYPES];
  mproc_array_t *a[N_TYPES];
  mproc_args_t *args;
  ASSERT_OK(mproc_args_new(&args));
  for (int i = 0; i < N_TYPES; i++) {
    ASSERT_OK(mproc_value_new(&v[i], type_at(i), &raw));
    for (size_t k = 0; k < mproc_type_size(type_at(i)); k++)
      assert_int_equal(((unsigned char *)mproc_value_ptr(v[i]))[k], 0); /* zeroed */
    assert_int_equal((uintptr_t)mproc_value_ptr(v[i]) % 64, 0);
    fill(mproc_value_ptr(v[i]), mproc_type_size(type_at(i)), i, 1);
    ASSERT_OK(mproc_args_add_value(args, v[i]));
  }
  for (int i = 0; i < N_TYPES; i++) {
    ASSERT_OK(mproc_array_new(&a[i], type_at(i), ARRAY_LEN, &raw));
    fill(mproc_array_ptr(a[i]), mproc_type_size(type_at(i)) * ARRAY_LEN, i + N_TYPES, 1);
    ASSERT_OK(mproc_args_add_array(args, a[i]));
  }
  assert_int_equal(run_child(t_every_type, args), 0);
  mproc_args_free(args);
  for (int i = 0; i < N_TYPES; i++) {
    assert_true(filled(mproc_value_ptr(v[i]), mproc_type_size(type_at(i)), i, 2));
    assert_true(
        filled(mproc_array_ptr(a[i]), mproc_type_size(type_at(i)) * ARRAY_LEN, i + N_TYPES, 2));
    mproc_value_free(v[i]);
    mproc_array_free(a[i]);
  }
}

/* ---- exact totals --------------------------------------------------------------- */

/* args: Value (I64), use the lock (bool), count. */
static int t_increment(const mproc_args_t *args) {
  mproc_value_t *v;
  bool locked;
  int64_t n;
  if (mproc_args_get_value(args, 0, &v) || mproc_args_get_bool(args, 1, &locked) ||
      mproc_args_get_int(args, 2, &n))
    return 1;
  for (int64_t i = 0; i < n; i++) {
    if (!locked) {
      if (mproc_value_add(v, 1, NULL) != 0)
        return 2;
      continue;
    }
    if (mproc_rlock_acquire(mproc_value_lock(v), TEST_WAIT_MS) != 0)
      return 3;
    int64_t *p = mproc_value_ptr(v);
    *p = *p + 1; /* Python's v.value += 1: safe only under the lock */
    mproc_rlock_release(mproc_value_lock(v));
  }
  return 0;
}

static void increments(bool locked) {
  mproc_value_opts_t opts = {.lock = locked ? MPROC_LOCK_DEFAULT : MPROC_NO_LOCK};
  mproc_value_t *v;
  ASSERT_OK(mproc_value_new(&v, MPROC_T_I64, &opts));
  mproc_process_t *p[PROCS];
  for (int i = 0; i < PROCS; i++) {
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_value(a, v));
    ASSERT_OK(mproc_args_add_bool(a, locked));
    ASSERT_OK(mproc_args_add_int(a, INCREMENTS));
    p[i] = start_child(t_increment, a);
    mproc_args_free(a);
  }
  for (int i = 0; i < PROCS; i++)
    assert_int_equal(finish_child(p[i]), 0);
  int64_t total;
  ASSERT_OK(mproc_value_load(v, &total));
  assert_int_equal(total, (int64_t)PROCS * INCREMENTS);
  mproc_value_free(v);
}

static void locked_increments_are_exact(void **state) { increments(true); }
static void atomic_increments_are_exact(void **state) { increments(false); }

/* ---- the atomic helpers ------------------------------------------------------ */

static void atomic_helpers(void **state) {
  mproc_value_t *v;
  int64_t x;
  ASSERT_OK(mproc_value_new(&v, MPROC_T_I8, NULL));
  ASSERT_OK(mproc_value_store(v, 127));
  ASSERT_OK(mproc_value_add(v, 1, &x));
  assert_int_equal(x, 127);
  ASSERT_OK(mproc_value_load(v, &x));
  assert_int_equal(x, -128); /* wraps, as atomic_fetch_add does */
  ASSERT_ERR(MPROC_ERANGE, mproc_value_store(v, 128));
  ASSERT_ERR(MPROC_ERANGE, mproc_value_store(v, -129));
  x = -128;
  assert_int_equal(mproc_value_compare_exchange(v, &x, 5), 1);
  x = 4;
  assert_int_equal(mproc_value_compare_exchange(v, &x, 6), 0);
  assert_int_equal(x, 5); /* the current value */
  ASSERT_ERR(MPROC_ERANGE, mproc_value_compare_exchange(v, &x, 1000));
  mproc_value_free(v);

  ASSERT_OK(mproc_value_new(&v, MPROC_T_U8, NULL));
  ASSERT_OK(mproc_value_store(v, 255));
  ASSERT_OK(mproc_value_load(v, &x));
  assert_int_equal(x, 255);
  ASSERT_ERR(MPROC_ERANGE, mproc_value_store(v, -1));
  mproc_value_free(v);

  ASSERT_OK(mproc_value_new(&v, MPROC_T_U64, NULL));
  ASSERT_OK(mproc_value_store(v, -1)); /* UINT64_MAX as its bit pattern */
  assert_true(*(uint64_t *)mproc_value_ptr(v) == UINT64_MAX);
  ASSERT_OK(mproc_value_add(v, 1, NULL));
  assert_true(*(uint64_t *)mproc_value_ptr(v) == 0);
  mproc_value_free(v);

  ASSERT_OK(mproc_value_new(&v, MPROC_T_U32, NULL));
  ASSERT_OK(mproc_value_store(v, UINT32_MAX));
  ASSERT_OK(mproc_value_load(v, &x));
  assert_true(x == (int64_t)UINT32_MAX);
  ASSERT_ERR(MPROC_ERANGE, mproc_value_store(v, (int64_t)UINT32_MAX + 1));
  mproc_value_free(v);

  mproc_type_t no_atomics[] = {MPROC_T_F32, MPROC_T_F64, MPROC_T_CHAR};
  for (size_t i = 0; i < 3; i++) {
    ASSERT_OK(mproc_value_new(&v, no_atomics[i], NULL));
    ASSERT_ERR(MPROC_ETYPE, mproc_value_add(v, 1, NULL));
    ASSERT_ERR(MPROC_ETYPE, mproc_value_load(v, &x));
    ASSERT_ERR(MPROC_ETYPE, mproc_value_store(v, 1));
    ASSERT_ERR(MPROC_ETYPE, mproc_value_compare_exchange(v, &x, 1));
    mproc_value_free(v);
  }
  ASSERT_ERR(MPROC_EINVAL, mproc_value_add(NULL, 1, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_value_load(NULL, &x));
  ASSERT_OK(mproc_value_new(&v, MPROC_T_I32, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_value_load(v, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_value_compare_exchange(v, NULL, 1));
  ASSERT_ERR(MPROC_EINVAL, mproc_value_store(NULL, 1));
  mproc_value_free(v);
}

/* ---- locks, sizes, bad input ---------------------------------------------------- */

/* Python's Value('i', 7) and Array('d', [1.5, 2.5, 3.5]): created with
 * their first values, seen by a child. */
static int t_check_initial(const mproc_args_t *args) {
  mproc_value_t *v;
  mproc_array_t *arr;
  if (mproc_args_get_value(args, 0, &v) || mproc_args_get_array(args, 1, &arr))
    return 1;
  const double *d = mproc_array_ptr(arr);
  return *(int32_t *)mproc_value_ptr(v) == 7 && d[0] == 1.5 && d[2] == 3.5 ? 0 : 2;
}

static void created_with_initial_values(void **state) {
  mproc_value_t *v;
  mproc_array_t *arr;
  int32_t seven = 7;
  const double seq[] = {1.5, 2.5, 3.5};
  ASSERT_OK(mproc_value_new(&v, MPROC_T_I32, &(mproc_value_opts_t){.initial = &seven}));
  ASSERT_OK(mproc_array_new(&arr, MPROC_T_F64, 3,
                            &(mproc_value_opts_t){.initial = seq, .lock = MPROC_NO_LOCK}));
  assert_int_equal(*(int32_t *)mproc_value_ptr(v), 7);
  assert_true(((double *)mproc_array_ptr(arr))[1] == 2.5);
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_value(a, v));
  ASSERT_OK(mproc_args_add_array(a, arr));
  assert_int_equal(run_child(t_check_initial, a), 0);
  mproc_args_free(a);
  mproc_value_free(v);
  mproc_array_free(arr);
  /* An empty Array with an initial pointer copies nothing. */
  ASSERT_OK(mproc_array_new(&arr, MPROC_T_F64, 0, &(mproc_value_opts_t){.initial = seq}));
  mproc_array_free(arr);
}

static void value_locks(void **state) {
  mproc_value_t *v, *raw, *shared;
  mproc_array_t *a;
  ASSERT_OK(mproc_value_new(&v, MPROC_T_F64, NULL));
  assert_non_null(mproc_value_lock(v)); /* Python's default: an RLock */
  ASSERT_OK(mproc_rlock_acquire(mproc_value_lock(v), 0));
  ASSERT_OK(mproc_rlock_acquire(mproc_value_lock(v), 0)); /* recursive */
  ASSERT_OK(mproc_rlock_release(mproc_value_lock(v)));
  ASSERT_OK(mproc_rlock_release(mproc_value_lock(v)));

  mproc_value_opts_t none = {.lock = MPROC_NO_LOCK};
  ASSERT_OK(mproc_value_new(&raw, MPROC_T_I32, &none));
  assert_null(mproc_value_lock(raw));

  /* Python's lock=<existing RLock>: one lock for both, kept alive by them. */
  mproc_rlock_t *r;
  ASSERT_OK(mproc_rlock_new(&r));
  mproc_value_opts_t with = {.rlock = r};
  ASSERT_OK(mproc_value_new(&shared, MPROC_T_I32, &with));
  ASSERT_OK(mproc_array_new(&a, MPROC_T_I32, 3, &with));
  mproc_rlock_free(r);
  assert_ptr_equal(mproc_value_lock(shared), mproc_array_lock(a));
  ASSERT_OK(mproc_rlock_acquire(mproc_value_lock(shared), 0));
  ASSERT_OK(mproc_rlock_release(mproc_array_lock(a)));

  mproc_value_opts_t contradictory = {.lock = MPROC_NO_LOCK, .rlock = mproc_array_lock(a)};
  mproc_value_t *bad = NULL;
  ASSERT_ERR(MPROC_EINVAL, mproc_value_new(&bad, MPROC_T_I32, &contradictory));
  mproc_value_opts_t unknown = {.lock = 7};
  ASSERT_ERR(MPROC_EINVAL, mproc_value_new(&bad, MPROC_T_I32, &unknown));
  assert_null(bad);
  mproc_value_free(v);
  mproc_value_free(raw);
  mproc_value_free(shared);
  mproc_array_free(a);
}

static void bad_input(void **state) {
  mproc_value_t *v = NULL;
  mproc_array_t *a = NULL;
  ASSERT_ERR(MPROC_EINVAL, mproc_value_new(NULL, MPROC_T_I32, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_value_new(&v, MPROC_T_STR, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_value_new(&v, (mproc_type_t)1000, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_array_new(&a, MPROC_T_NIL, 3, NULL));
  ASSERT_ERR(MPROC_ERANGE, mproc_array_new(&a, MPROC_T_I64, SIZE_MAX / 4, NULL));
  assert_null(v);
  assert_null(a);
  assert_null(mproc_value_ptr(NULL));
  assert_null(mproc_value_lock(NULL));
  assert_int_equal(mproc_value_type(NULL), MPROC_T_NIL);
  assert_null(mproc_array_ptr(NULL));
  assert_null(mproc_array_lock(NULL));
  assert_int_equal(mproc_array_len(NULL), 0);
  assert_int_equal(mproc_array_type(NULL), MPROC_T_NIL);
  assert_int_equal(mproc_type_size(MPROC_T_INT), 0);
  assert_int_equal(mproc_type_size(MPROC_T_U16), 2);
  assert_int_equal(mproc_type_size(MPROC_T_F32), 4);
  mproc_value_free(NULL);
  mproc_array_free(NULL);

  /* An empty array still has an address; the wrong getter says so. */
  ASSERT_OK(mproc_array_new(&a, MPROC_T_U8, 0, NULL));
  assert_non_null(mproc_array_ptr(a));
  assert_int_equal(mproc_array_len(a), 0);
  mproc_args_t *args;
  ASSERT_OK(mproc_args_new(&args));
  ASSERT_OK(mproc_args_add_array(args, a));
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_value(args, 0, &v));
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_array(args, 1, &a));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_value(args, NULL));
  mproc_args_free(args);
  mproc_array_free(a);
}

/* ---- arrays of 1 byte and 256 MiB ------------------------------------------------- */

#define PAGE 4096
#define BIG ((size_t)256 << 20)

/* args: 1-byte array, big array. Writes 0xAB, one byte per page (never
 * a page's last, so the last byte of all is 0x5A alone). */
static int t_write_arrays(const mproc_args_t *args) {
  mproc_array_t *one, *big;
  if (mproc_args_get_array(args, 0, &one) || mproc_args_get_array(args, 1, &big))
    return 1;
  if (mproc_array_len(one) != 1 || mproc_array_len(big) != BIG)
    return 2;
  *(unsigned char *)mproc_array_ptr(one) = 0xAB;
  unsigned char *p = mproc_array_ptr(big);
  for (size_t off = 0; off < BIG; off += PAGE)
    p[off + (off / PAGE) % (PAGE - 1)] = (unsigned char)(off / PAGE * 31 + 1);
  p[BIG - 1] = 0x5A;
  return 0;
}

static void arrays_of_one_byte_and_256_mib(void **state) {
  mproc_array_t *one, *big;
  mproc_value_opts_t raw = {.lock = MPROC_NO_LOCK};
  ASSERT_OK(mproc_array_new(&one, MPROC_T_U8, 1, &raw));
  ASSERT_OK(mproc_array_new(&big, MPROC_T_U8, BIG, &raw));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_array(a, one));
  ASSERT_OK(mproc_args_add_array(a, big));
  assert_int_equal(run_child(t_write_arrays, a), 0);
  mproc_args_free(a);
  assert_int_equal(*(unsigned char *)mproc_array_ptr(one), 0xAB);
  const unsigned char *p = mproc_array_ptr(big);
  size_t wrong = 0;
  for (size_t off = 0; off < BIG; off += PAGE)
    wrong += p[off + (off / PAGE) % (PAGE - 1)] != (unsigned char)(off / PAGE * 31 + 1);
  assert_int_equal(wrong, 0);
  assert_int_equal(p[BIG - 1], 0x5A);
  mproc_array_free(one);
  mproc_array_free(big);
}

/* ---- many values, one mapping ---------------------------------------------------- */

#ifdef __linux__
/* How many entries /dev/shm has, leaving out the named segments of the
 * tests (unique_name's "mproc_test_"), which a group running at the same
 * time makes and removes. */
static int shm_entries(void) {
  DIR *d = opendir("/dev/shm");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += strncmp(e->d_name, "mproc_test_", 11) != 0;
  if (d)
    closedir(d);
  return n;
}

/* shm_entries() once it is back at before, or after a second. Entries of
 * other tests running beside this one come and go (a generic POSIX build
 * names each anonymous region for an instant before unlinking it): a leak
 * is an entry that stays. */
static int shm_entries_back_to(int before) {
  int n = shm_entries();
  for (int i = 0; i < 100 && n > before; i++) {
    sleep_ms(10);
    n = shm_entries();
  }
  return n;
}

/* How many descriptors are open that are not FIFOs or pipes: mappings,
 * sockets, files. (A generic POSIX build gives each wait word a FIFO of
 * its own, as Windows gives it a semaphore; those are not mappings.) */
static int open_non_fifos(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    struct stat st;
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end == '\0' && end != e->d_name && fd != dirfd(d) && fstat((int)fd, &st) == 0 &&
        !S_ISFIFO(st.st_mode))
      n++;
  }
  if (d)
    closedir(d);
  return n;
}
#endif

static void many_values_share_mappings(void **state) {
#ifndef __linux__
  skip(); /* counted through /proc/self/fd */
#else
  enum { MANY = 1000 };
  static mproc_value_t *v[MANY];
  int before = open_non_fifos();
  for (int i = 0; i < MANY; i++) {
    ASSERT_OK(mproc_value_new(&v[i], MPROC_T_I32, NULL)); /* each with its RLock */
    ASSERT_OK(mproc_value_store(v[i], i));
  }
  /* 2,000 slices of 64 bytes: a handful of 64 KiB arenas, not 2,000. */
  assert_in_range(open_non_fifos() - before, 0, 8);
  for (int i = 0; i < MANY; i++) {
    int64_t x;
    ASSERT_OK(mproc_value_load(v[i], &x));
    assert_int_equal(x, i);
    mproc_value_free(v[i]);
  }
  assert_in_range(open_non_fifos() - before, 0, 1); /* at most the allocator's current arena */
#endif
}

/* ---- a killed holder --------------------------------------------------------------- */

/* args: Value, event. Makes Values and Arrays of its own, takes the
 * Value's lock, says so and waits to be killed. */
static int t_hold_value(const mproc_args_t *args) {
  mproc_value_t *v, *mine[16];
  mproc_array_t *big;
  mproc_event_t *e;
  if (mproc_args_get_value(args, 0, &v) || mproc_args_get_event(args, 1, &e))
    return 1;
  for (int i = 0; i < 16; i++)
    if (mproc_value_new(&mine[i], MPROC_T_I64, NULL))
      return 2;
  if (mproc_array_new(&big, MPROC_T_F64, 1 << 17, NULL) ||
      mproc_rlock_acquire(mproc_value_lock(v), TEST_WAIT_MS))
    return 3;
  *(int64_t *)mproc_value_ptr(v) = 42;
  mproc_event_set(e);
  sleep_ms(TEST_WAIT_MS);
  return 4;
}

static void killed_holder_leaves_nothing(void **state) {
#ifdef __linux__
  int before = shm_entries();
#endif
  mproc_value_t *v;
  mproc_event_t *e;
  ASSERT_OK(mproc_value_new(&v, MPROC_T_I64, NULL));
  ASSERT_OK(mproc_event_new(&e));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_value(a, v));
  ASSERT_OK(mproc_args_add_event(a, e));
  mproc_process_t *p = start_child(t_hold_value, a);
  mproc_args_free(a);
  ASSERT_OK(mproc_event_wait(e, TEST_WAIT_MS));
  ASSERT_OK(mproc_process_kill(p));
  int code = finish_child(p);
  assert_true(code != 0 && code != 4);
  /* The Value survives its holder; its lock says the holder died. */
  ASSERT_ERR(MPROC_EOWNERDEAD, mproc_rlock_acquire(mproc_value_lock(v), TEST_WAIT_MS));
  assert_int_equal(*(int64_t *)mproc_value_ptr(v), 42);
  ASSERT_OK(mproc_rlock_release(mproc_value_lock(v)));
  mproc_value_free(v);
  mproc_event_free(e);
#ifdef __linux__
  assert_int_equal(shm_entries_back_to(before), before);
#endif
}

/* ---- named SharedMemory -------------------------------------------------------- */

static void unique_name(char *buf, size_t cap, const char *tag) {
  static int counter;
  unsigned pid = 0;
#ifdef _WIN32
  pid = (unsigned)GetCurrentProcessId();
#else
  pid = (unsigned)getpid();
#endif
  snprintf(buf, cap, "mproc_test_%u_%s_%d", pid, tag, counter++);
}

static void named_create_and_open(void **state) {
  char name[64];
  unique_name(name, sizeof name, "rt");
  mproc_shm_t *s, *t;
  ASSERT_OK(mproc_shm_create(&s, name, 1000));
  assert_string_equal(mproc_shm_name(s), name);
  assert_int_equal(mproc_shm_size(s), 1000); /* exact, as asked */
  assert_true(mproc_shm_mapped_size(s) >= 1000 && mproc_shm_mapped_size(s) % 4096 == 0);
  unsigned char *p = mproc_shm_data(s);
  assert_int_equal(p[0], 0);
  assert_int_equal(p[999], 0);
  ASSERT_OK(mproc_shm_open(&t, name));
  assert_int_equal(mproc_shm_size(t), 1000);
  unsigned char *q = mproc_shm_data(t);
  p[0] = 1;
  q[999] = 2;
  assert_int_equal(q[0], 1);
  assert_int_equal(p[999], 2);
  ASSERT_OK(mproc_shm_unlink(s));
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_unlink(t)); /* once is enough */
  assert_int_equal(q[0], 1);                     /* mappings stay valid */
  mproc_shm_close(s);
  mproc_shm_close(t);
}

/* args: shm, expected first byte. The child maps the segment from the
 * handle it got (the name may be gone), checks, writes its mark. */
static int t_use_segment(const mproc_args_t *args) {
  mproc_shm_t *s;
  int64_t first;
  if (mproc_args_get_shm(args, 0, &s) || mproc_args_get_int(args, 1, &first))
    return 1;
  unsigned char *p = mproc_shm_data(s);
  if (mproc_shm_size(s) != 5000 || p[0] != (unsigned char)first)
    return 2;
  p[4999] = 0x5a;
  return 0;
}

/* SharedMemory as an argument: the child needs no name - it works after
 * the name is unlinked, and after the parent closed its own reference. */
static void named_segment_as_an_argument(void **state) {
  char name[64];
  unique_name(name, sizeof name, "arg");
  mproc_shm_t *s;
  ASSERT_OK(mproc_shm_create(&s, name, 5000));
  unsigned char *p = mproc_shm_data(s);
  p[0] = 7;
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_shm(a, s));
  ASSERT_OK(mproc_args_add_int(a, 7));
  assert_int_equal(mproc_args_type(a, 0), MPROC_T_SHM);
  ASSERT_OK(mproc_shm_unlink(s));
  assert_int_equal(run_child(t_use_segment, a), 0);
  assert_int_equal(p[4999], 0x5a);
  p[4999] = 0;
  mproc_shm_close(s); /* the tuple still holds the segment */
  mproc_shm_t *held;
  ASSERT_OK(mproc_args_get_shm(a, 0, &held));
  assert_int_equal(((unsigned char *)mproc_shm_data(held))[0], 7);
  assert_int_equal(run_child(t_use_segment, a), 0);
  assert_int_equal(((unsigned char *)mproc_shm_data(held))[4999], 0x5a);
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_shm(a, NULL));
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_shm(a, 1, &held));
  mproc_args_free(a);
}

/* An unnamed segment: no name to unlink or leak; it crosses to a child
 * by handle like a named one, and its memory goes with its last holder. */
static void unnamed_segments(void **state) {
  int before = unnamed_shm_holds(0);
  mproc_shm_t *s;
  ASSERT_OK(mproc_shm_create_unnamed(&s, 5000));
  assert_string_equal(mproc_shm_name(s), "");
  assert_int_equal(mproc_shm_size(s), 5000);
  unsigned char *p = mproc_shm_data(s);
  assert_int_equal(p[0], 0);
  assert_int_equal(p[4999], 0);
  if (before >= 0) /* Linux: its descriptor and its mapping */
    assert_int_equal(unnamed_shm_holds(0), before + 2);
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_unlink(s));
  p[0] = 9;
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_shm(a, s));
  ASSERT_OK(mproc_args_add_int(a, 9));
  mproc_shm_close(s); /* the tuple holds it now */
  assert_int_equal(run_child(t_use_segment, a), 0);
  mproc_shm_t *held;
  ASSERT_OK(mproc_args_get_shm(a, 0, &held));
  assert_int_equal(((unsigned char *)mproc_shm_data(held))[4999], 0x5a);
  mproc_args_free(a);
  if (before >= 0) /* the last hold went: so did the memory */
    assert_int_equal(unnamed_shm_holds(0), before);
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create_unnamed(NULL, 10));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create_unnamed(&s, 0));
  ASSERT_ERR(MPROC_ERANGE, mproc_shm_create_unnamed(&s, SIZE_MAX));
}

/* args: name, barrier. Opens or creates it, holds it until every racer
 * has it (on Windows a segment ends with its last handle); exits 10 when
 * it created it. */
static int t_open_or_create(const mproc_args_t *args) {
  const char *name;
  mproc_barrier_t *b;
  if (mproc_args_get_str(args, 0, &name) || mproc_args_get_barrier(args, 1, &b))
    return 1;
  mproc_shm_t *s;
  bool created;
  if (mproc_shm_open_or_create(&s, name, 128, &created))
    return 2;
  int code = mproc_shm_size(s) == 128 ? (created ? 10 : 20) : 3;
  if (mproc_barrier_wait(b, TEST_WAIT_MS, NULL))
    code = 4;
  mproc_shm_close(s);
  return code;
}

#ifndef _WIN32
static void size_it_soon(void *arg) {
  sleep_ms(20);
  if (ftruncate(*(int *)arg, 256) != 0)
    abort(); /* the test's own setup failed */
}
#endif

/* POSIX makes a segment and sizes it in two steps; an open that lands in
 * between (another process's create, or its open_or_create) waits for the
 * size instead of calling the segment empty. */
static void open_waits_for_a_creator_to_size_it(void **state) {
#ifdef _WIN32
  skip(); /* a section is created with its size */
#else
  char name[64], path[80];
  unique_name(name, sizeof name, "sizing");
  snprintf(path, sizeof path, "/%s", name);
  int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  test_thread_t t;
  thread_start(&t, size_it_soon, &fd);
  mproc_shm_t *s;
  ASSERT_OK(mproc_shm_open(&s, name));
  assert_int_equal(mproc_shm_size(s), 256);
  thread_join(&t);
  ASSERT_OK(mproc_shm_unlink(s));
  mproc_shm_close(s);
  close(fd);
#endif
}

/* ---- tracked segments: a killed tree leaves no name ------------------ */

enum { TRACK_KIDS = 6, TRACK_EACH = 5 };

/* Creates TRACK_EACH tracked segments "<base>-<who>-<i>"; then, to check
 * that an unlink is remembered, a tracked "<base>-<who>-again" that it
 * unlinks and creates anew untracked, and an untracked "<base>-<who>-keep".
 * Both of those must survive. 0, or why not. */
static int make_tracked(const char *base, int who) {
  mproc_shm_opts_t track = {.track = true};
  char name[128];
  for (int i = 0; i < TRACK_EACH; i++) {
    mproc_shm_t *s;
    snprintf(name, sizeof name, "%s-%d-%d", base, who, i);
    /* Kept open, never unlinked: the process dies holding it. (On
     * Windows a section closed by everyone is gone at once.) The first
     * through attach-or-create, which tracks what it creates. */
    bool created = false;
    if (i == 0 ? mproc_shm_open_or_create_opts(&s, name, 64, &created, &track) || !created
               : mproc_shm_create_opts(&s, name, 64, &track))
      return 1;
  }
  mproc_shm_t *s;
  snprintf(name, sizeof name, "%s-%d-again", base, who);
  if (mproc_shm_create_opts(&s, name, 64, &track) || mproc_shm_unlink(s))
    return 2;
  mproc_shm_close(s);
  if (mproc_shm_create(&s, name, 64))
    return 3;
  snprintf(name, sizeof name, "%s-%d-keep", base, who);
  if (mproc_shm_create(&s, name, 64))
    return 4;
  return 0;
}

/* args: base, who, semaphore. Makes its segments, says so, waits to die. */
static int t_tracked_leaf(const mproc_args_t *args) {
  const char *base;
  int64_t who;
  mproc_sem_t *ready;
  if (mproc_args_get_str(args, 0, &base) || mproc_args_get_int(args, 1, &who) ||
      mproc_args_get_sem(args, 2, &ready))
    return 10;
  int rc = make_tracked(base, (int)who);
  if (rc)
    return 10 + rc;
  mproc_sem_release(ready);
  sleep_ms(TEST_WAIT_MS);
  return 20;
}

/* args: base, semaphore. The root of the tree: its own segments, then
 * TRACK_KIDS daemon children with theirs (they die with it). */
static int t_tracked_root(const mproc_args_t *args) {
  const char *base;
  mproc_sem_t *ready;
  if (mproc_args_get_str(args, 0, &base) || mproc_args_get_sem(args, 1, &ready))
    return 10;
  int rc = make_tracked(base, TRACK_KIDS);
  if (rc)
    return 10 + rc;
  mproc_process_opts_t daemon = {.daemon = true};
  for (int k = 0; k < TRACK_KIDS; k++) {
    mproc_args_t *a;
    mproc_process_t *p;
    if (mproc_args_new(&a) || mproc_args_add_str(a, base) || mproc_args_add_int(a, k) ||
        mproc_args_add_sem(a, ready) || mproc_process_new(&p, t_tracked_leaf, a, &daemon) ||
        mproc_process_start(p))
      return 20;
    mproc_args_free(a);
  }
  mproc_sem_release(ready);
  sleep_ms(TEST_WAIT_MS);
  return 30;
}

/* Whether a segment of that name can be opened; unlinks it when asked. */
static bool named_exists(const char *name, bool unlink) {
  mproc_shm_t *s;
  if (mproc_shm_open(&s, name) != 0)
    return false;
  if (unlink)
    mproc_shm_unlink(s);
  mproc_shm_close(s);
  return true;
}

/* Python's track= is undone by a SIGKILL; ours is not: a tree of seven
 * processes with 35 tracked segments killed at once leaves none of them,
 * and only them (an unlinked-then-recreated name and an untracked one
 * stay). */
static void tracked_segments_go_with_a_killed_tree(void **state) {
  char base[64];
  unique_name(base, sizeof base, "tracked");
  mproc_sem_t *ready;
  ASSERT_OK(mproc_sem_new(&ready, 0, NULL));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, base));
  ASSERT_OK(mproc_args_add_sem(a, ready));
  mproc_process_t *root = start_child(t_tracked_root, a);
  mproc_args_free(a);
  for (int i = 0; i < TRACK_KIDS + 1; i++)
    ASSERT_OK(mproc_sem_acquire(ready, TEST_WAIT_MS));
  char name[128];
  snprintf(name, sizeof name, "%s-0-0", base);
  assert_true(named_exists(name, false)); /* alive: the names are there */
  ASSERT_OK(mproc_process_kill(root));
  int code = finish_child(root);
  assert_true(code < 0); /* killed */
  for (int who = 0; who <= TRACK_KIDS; who++) {
    for (int i = 0; i < TRACK_EACH; i++) {
      snprintf(name, sizeof name, "%s-%d-%d", base, who, i);
      int waited = 0;
      while (named_exists(name, false) && waited < TEST_WAIT_MS) {
        sleep_ms(10);
        waited += 10;
      }
      if (waited >= TEST_WAIT_MS)
        fail_msg("%s outlived its killed creator", name);
    }
#ifndef _WIN32 /* Windows: every section goes with its last handle anyway */
    snprintf(name, sizeof name, "%s-%d-again", base, who);
    assert_true(named_exists(name, true));
    snprintf(name, sizeof name, "%s-%d-keep", base, who);
    assert_true(named_exists(name, true));
#endif
  }
  mproc_sem_free(ready);
  mproc_shm_opts_t track = {.track = true};
  mproc_shm_t *s;
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create_opts(NULL, base, 64, &track));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create_opts(&s, base, 0, &track));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open_or_create_opts(&s, NULL, 64, NULL, &track));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open_or_create_opts(&s, "bad/name", 64, NULL, &track));
}

/* Attach-or-create from several processes at once: exactly one creates. */
static void open_or_create_has_one_creator(void **state) {
  enum { RACERS = 6 };
  char name[64];
  unique_name(name, sizeof name, "race");
  mproc_barrier_t *b;
  ASSERT_OK(mproc_barrier_new(&b, RACERS + 1));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, name));
  ASSERT_OK(mproc_args_add_barrier(a, b));
  mproc_process_t *p[RACERS];
  for (int i = 0; i < RACERS; i++)
    p[i] = start_child(t_open_or_create, a);
  /* All racers have it now: attach here too, before they let go. */
  mproc_shm_t *s;
  bool was_created = true;
  ASSERT_OK(mproc_barrier_wait(b, TEST_WAIT_MS, NULL));
  ASSERT_OK(mproc_shm_open_or_create(&s, name, 999, &was_created));
  int created = 0, opened = 0;
  for (int i = 0; i < RACERS; i++) {
    int code = finish_child(p[i]);
    created += code == 10;
    opened += code == 20;
  }
  assert_int_equal(created, 1);
  assert_int_equal(opened, RACERS - 1);
  assert_false(was_created);
  assert_int_equal(mproc_shm_size(s), 128); /* an existing segment keeps its size */
  ASSERT_OK(mproc_shm_unlink(s));
  mproc_shm_close(s);
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open_or_create(&s, NULL, 1, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open_or_create(&s, "bad/name", 1, NULL));
  mproc_args_free(a);
  mproc_barrier_free(b);
}

static void named_random_names(void **state) {
  mproc_shm_t *a, *b;
  ASSERT_OK(mproc_shm_create(&a, NULL, 10));
  ASSERT_OK(mproc_shm_create(&b, NULL, 10));
  assert_int_equal(strncmp(mproc_shm_name(a), "mproc_", 6), 0);
  assert_int_equal(strlen(mproc_shm_name(a)), 6 + 16);
  assert_string_not_equal(mproc_shm_name(a), mproc_shm_name(b));
  ASSERT_OK(mproc_shm_unlink(a));
  ASSERT_OK(mproc_shm_unlink(b));
  mproc_shm_close(a);
  mproc_shm_close(b);
}

static void named_errors(void **state) {
  char name[64], longest[MPROC_SHM_NAME_MAX + 2];
  unique_name(name, sizeof name, "err");
  mproc_shm_t *s = NULL, *t = NULL;
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_open(&t, name));
  ASSERT_OK(mproc_shm_create(&s, name, 64));
  ASSERT_ERR(MPROC_EEXIST, mproc_shm_create(&t, name, 64));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create(&t, "", 64));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create(&t, "a/b", 64));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create(&t, "Local\\x", 64));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create(&t, "x", 0));
  char huge[64];
  unique_name(huge, sizeof huge, "huge");
  ASSERT_ERR(MPROC_ERANGE, mproc_shm_create(&t, huge, SIZE_MAX));
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_open(&t, huge)); /* nothing was left behind */
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_create(NULL, "x", 64));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open(&t, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open(NULL, name));
  memset(longest, 'a', sizeof longest - 1);
  longest[sizeof longest - 1] = '\0'; /* one byte too long */
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_open(&t, longest));
  assert_null(t);
  ASSERT_ERR(MPROC_EINVAL, mproc_shm_unlink(NULL));
  assert_null(mproc_shm_data(NULL));
  assert_null(mproc_shm_name(NULL));
  assert_int_equal(mproc_shm_size(NULL), 0);
  assert_int_equal(mproc_shm_mapped_size(NULL), 0);
  mproc_shm_close(NULL);
  ASSERT_OK(mproc_shm_unlink(s));
  mproc_shm_close(s);
}

/* How long a segment lives differs, and the API says so: pin both. */
static void named_lifetime(void **state) {
  char name[64];
  unique_name(name, sizeof name, "life");
  mproc_shm_t *s, *t;
  ASSERT_OK(mproc_shm_create(&s, name, 100));
  ((unsigned char *)mproc_shm_data(s))[7] = 7;
#ifdef _WIN32
  /* Windows: the last close ends it, unlinked or not. */
  mproc_shm_close(s);
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_open(&t, name));
  /* unlink only stops new opens; the name stays taken until the last close. */
  ASSERT_OK(mproc_shm_create(&s, name, 100));
  ASSERT_OK(mproc_shm_open(&t, name));
  ASSERT_OK(mproc_shm_unlink(s));
  mproc_shm_t *u = NULL;
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_open(&u, name));
  ASSERT_ERR(MPROC_EEXIST, mproc_shm_create(&u, name, 100));
  ((unsigned char *)mproc_shm_data(s))[3] = 3;
  assert_int_equal(((unsigned char *)mproc_shm_data(t))[3], 3);
  mproc_shm_close(s);
  mproc_shm_close(t);
  ASSERT_OK(mproc_shm_create(&u, name, 100)); /* gone with the last close */
  mproc_shm_close(u);
#else
  /* POSIX: it outlives every mapping until unlinked. */
  mproc_shm_close(s);
  ASSERT_OK(mproc_shm_open(&t, name));
  assert_int_equal(((unsigned char *)mproc_shm_data(t))[7], 7);
  ASSERT_OK(mproc_shm_unlink(t));
  mproc_shm_t *u = NULL;
  ASSERT_ERR(MPROC_ENOENT, mproc_shm_open(&u, name));
  ASSERT_OK(mproc_shm_create(&u, name, 100)); /* the name is free again: a new segment */
  assert_int_equal(((unsigned char *)mproc_shm_data(u))[7], 0);
  assert_int_equal(((unsigned char *)mproc_shm_data(t))[7], 7); /* the old one, still mapped */
  ASSERT_OK(mproc_shm_unlink(u));
  mproc_shm_close(u);
  mproc_shm_close(t);
#endif
}

/* This program started again, not as a child: "--shm-peer <name>". */
static int shm_peer(const char *name) {
  mproc_shm_t *s;
  if (mproc_shm_open(&s, name) != 0)
    return 10;
  unsigned char *p = mproc_shm_data(s);
  int rc = mproc_shm_size(s) != 1000 ? 11 : !filled(p + 4, 996, 3, 1) ? 12 : 0;
  if (rc == 0)
    memcpy(p, "PEER", 4);
  mproc_shm_close(s);
  return rc;
}

static int run_self(const char *name) {
#ifdef _WIN32
  wchar_t path[MAX_PATH], cmd[MAX_PATH + 128];
  GetModuleFileNameW(NULL, path, MAX_PATH);
  _snwprintf(cmd, MAX_PATH + 128, L"\"%ls\" --shm-peer %hs", path, name);
  STARTUPINFOW si = {.cb = sizeof si};
  PROCESS_INFORMATION pi;
  if (!CreateProcessW(path, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
    return -1;
  CloseHandle(pi.hThread);
  DWORD code = (DWORD)-2;
  if (WaitForSingleObject(pi.hProcess, TEST_WAIT_MS) == WAIT_OBJECT_0)
    GetExitCodeProcess(pi.hProcess, &code);
  else
    TerminateProcess(pi.hProcess, 99);
  CloseHandle(pi.hProcess);
  return (int)code;
#else
  char *argv[] = {"self", "--shm-peer", (char *)name, NULL};
  pid_t pid;
  if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0)
    return -1;
  int status = 0;
  for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += 5) {
    if (waited > TEST_WAIT_MS) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2;
    }
    sleep_ms(5);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -3;
#endif
}

static void named_between_unrelated_processes(void **state) {
  char name[64];
  unique_name(name, sizeof name, "peer");
  mproc_shm_t *s;
  ASSERT_OK(mproc_shm_create(&s, name, 1000));
  unsigned char *p = mproc_shm_data(s);
  fill(p + 4, 996, 3, 1);
  assert_int_equal(run_self(name), 0);
  assert_memory_equal(p, "PEER", 4);
  ASSERT_OK(mproc_shm_unlink(s));
  mproc_shm_close(s);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--shm-peer") == 0)
    return shm_peer(argv[2]);
  mproc_main_guard(argc, argv);
  const struct CMUnitTest values[] = {
      cmocka_unit_test(value_every_type_across_processes),
      cmocka_unit_test(atomic_helpers),
      cmocka_unit_test(value_locks),
      cmocka_unit_test(created_with_initial_values),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(many_values_share_mappings),
      cmocka_unit_test(killed_holder_leaves_nothing),
  };
  const struct CMUnitTest totals[] = {
      cmocka_unit_test(locked_increments_are_exact),
      cmocka_unit_test(atomic_increments_are_exact),
      cmocka_unit_test(arrays_of_one_byte_and_256_mib),
  };
  const struct CMUnitTest named[] = {
      cmocka_unit_test(named_create_and_open),
      cmocka_unit_test(named_random_names),
      cmocka_unit_test(named_errors),
      cmocka_unit_test(named_lifetime),
      cmocka_unit_test(named_between_unrelated_processes),
      cmocka_unit_test(named_segment_as_an_argument),
      cmocka_unit_test(unnamed_segments),
      cmocka_unit_test(open_or_create_has_one_creator),
      cmocka_unit_test(open_waits_for_a_creator_to_size_it),
      cmocka_unit_test(tracked_segments_go_with_a_killed_tree),
  };
  const test_group_t groups[] = {
      TEST_GROUP("values", values),
      TEST_GROUP("totals", totals),
      TEST_GROUP("named", named),
  };
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
