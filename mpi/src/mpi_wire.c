/* Messages over MPI for mproc::mpi: in pieces when larger than an int
 * count allows, never blocking the root's pool thread on a send (two
 * sides each sending a large message to the other would otherwise wait
 * for each other for ever), and waiting for messages without burning a
 * core when there is nothing to do. */
#define _POSIX_C_SOURCE 200809L
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"

const char *mproc__mpi_strerror(int code, char *buf, int cap) {
  int len = 0;
  if (cap <= 0 || MPI_Error_string(code, buf, &len) != MPI_SUCCESS)
    snprintf(buf, (size_t)cap, "MPI error %d", code);
  else
    buf[len < cap ? len : cap - 1] = '\0';
  return buf;
}

int mproc__mpi_fail(int code, const char *what) {
  char msg[MPI_MAX_ERROR_STRING];
  return mproc_set_error(MPROC_ESYS, "mpi: %s: %s", what,
                         mproc__mpi_strerror(code, msg, sizeof msg));
}

static size_t piece_bytes(void) {
  size_t p = mproc__mpi.o.piece_bytes;
  return p == 0 || p > ((size_t)1 << 30) ? (size_t)1 << 30 : p;
}

int mproc__mpi_send(int dest, int kind, unsigned epoch, const void *buf, size_t len,
                    bool blocking) {
  size_t piece = piece_bytes();
  size_t npieces = len <= piece ? 0 : (len + piece - 1) / piece;
  /* A big message: a header (length, kind), then the pieces. */
  unsigned char head[12];
  mpi_put_u64(head, len);
  head[8] = (unsigned char)kind;
  head[9] = head[10] = head[11] = 0;
  const unsigned char *data = buf;
  pending_send_t *ps = NULL;
  if (!blocking) {
    ps = calloc(1, sizeof *ps);
    if (ps)
      ps->reqs = calloc(npieces + 1, sizeof *ps->reqs);
    if (ps && ps->reqs)
      ps->buf = malloc(len + sizeof head + 1);
    if (!ps || !ps->reqs || !ps->buf) {
      if (ps)
        free(ps->reqs);
      free(ps);
      return mproc_set_error(MPROC_ENOMEM, "mpi: out of memory for a message of %zu bytes", len);
    }
    memcpy(ps->buf, head, sizeof head);
    if (len)
      memcpy((unsigned char *)ps->buf + sizeof head, buf, len);
    data = (unsigned char *)ps->buf + sizeof head;
  }
  MPI_Comm comm = mproc__mpi.comm;
  int rc = MPI_SUCCESS;
  if (npieces == 0) {
    rc = blocking ? MPI_Send(data, (int)len, MPI_BYTE, dest, mpi_tag(kind, epoch), comm)
                  : MPI_Isend(data, (int)len, MPI_BYTE, dest, mpi_tag(kind, epoch), comm,
                              &ps->reqs[ps->nreqs++]);
  } else {
    const void *h = blocking ? head : ps->buf;
    rc = blocking ? MPI_Send(h, (int)sizeof head, MPI_BYTE, dest, mpi_tag(KIND_BIG, epoch), comm)
                  : MPI_Isend(h, (int)sizeof head, MPI_BYTE, dest, mpi_tag(KIND_BIG, epoch), comm,
                              &ps->reqs[ps->nreqs++]);
    for (size_t off = 0; off < len && rc == MPI_SUCCESS; off += piece) {
      int n = (int)(len - off < piece ? len - off : piece);
      rc = blocking ? MPI_Send(data + off, n, MPI_BYTE, dest, mpi_tag(KIND_PIECE, epoch), comm)
                    : MPI_Isend(data + off, n, MPI_BYTE, dest, mpi_tag(KIND_PIECE, epoch), comm,
                                &ps->reqs[ps->nreqs++]);
    }
  }
  if (ps) {
    /* Even a failed send keeps what was started until it completes. */
    ps->next = mproc__mpi.pending;
    mproc__mpi.pending = ps;
  }
  return rc == MPI_SUCCESS ? 0 : mproc__mpi_fail(rc, "send");
}

void mproc__mpi_progress(void) {
  for (pending_send_t **pp = &mproc__mpi.pending; *pp;) {
    pending_send_t *ps = *pp;
    /* One by one, each with a status of its own: MPICH's headers tell
     * GCC that MPI_STATUSES_IGNORE is an array too small to write. */
    int done = 1;
    for (int k = 0; k < ps->nreqs; k++) {
      int flag = 0;
      MPI_Status st;
      if (MPI_Test(&ps->reqs[k], &flag, &st) != MPI_SUCCESS || !flag)
        done = 0;
    }
    if (!done) {
      pp = &ps->next;
      continue;
    }
    *pp = ps->next;
    free(ps->reqs);
    free(ps->buf);
    free(ps);
  }
}

int mproc__mpi_take(int source, int *kind, unsigned *epoch, int *from, void **buf, size_t *len) {
  /* A probe, then a receive of exactly what it found: one thread of this
   * process receives on comm, so nothing can take the message between
   * them. (Open MPI's matched probe, MPI_Improbe + MPI_Mrecv, moves a
   * large message an order of magnitude slower.) */
  MPI_Comm comm = mproc__mpi.comm;
  MPI_Status st;
  int flag = 0;
  int rc = MPI_Iprobe(source, MPI_ANY_TAG, comm, &flag, &st);
  if (rc != MPI_SUCCESS)
    return mproc__mpi_fail(rc, "probe");
  if (!flag)
    return 0;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  unsigned char *b = malloc((size_t)count + 1);
  if (!b) {
    MPI_Recv(NULL, 0, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, comm, MPI_STATUS_IGNORE); /* dropped */
    return mproc_set_error(MPROC_ENOMEM, "mpi: out of memory for a message of %d bytes", count);
  }
  rc = MPI_Recv(b, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) {
    free(b);
    return mproc__mpi_fail(rc, "receive");
  }
  *kind = st.MPI_TAG & ((1 << KIND_BITS) - 1);
  *epoch = (unsigned)st.MPI_TAG >> KIND_BITS;
  *from = st.MPI_SOURCE;
  size_t n = (size_t)count;
  if (*kind == KIND_BIG && count == 12) {
    /* The pieces follow from the same sender, in order. */
    uint64_t total = mpi_get_u64(b);
    *kind = b[8];
    free(b);
    b = total < SIZE_MAX ? malloc((size_t)total + 1) : NULL;
    if (!b)
      return mproc_set_error(MPROC_ENOMEM, "mpi: out of memory for a message of %llu bytes",
                             (unsigned long long)total);
    size_t piece = piece_bytes();
    for (size_t off = 0; off < total; off += piece) {
      int want = (int)(total - off < piece ? total - off : piece);
      rc = MPI_Recv(b + off, want, MPI_BYTE, st.MPI_SOURCE, mpi_tag(KIND_PIECE, *epoch), comm,
                    MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        free(b);
        return mproc__mpi_fail(rc, "receive a piece");
      }
    }
    n = (size_t)total;
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  mproc__mpi.last_activity = MPI_Wtime();
  return 1;
}

void mproc__mpi_await(int source, atomic_int *woken, double deadline) {
  int spin_us = mproc__mpi.o.spin_us == 0 ? 1000 : mproc__mpi.o.spin_us;
  long max_sleep_us = mproc__mpi.o.max_sleep_us <= 0 ? 1000 : mproc__mpi.o.max_sleep_us;
  long sleep_us = 0;
  for (;;) {
    int flag = 0;
    mproc__mpi_progress();
    MPI_Iprobe(source, MPI_ANY_TAG, mproc__mpi.comm, &flag, MPI_STATUS_IGNORE);
    if (flag)
      return;
    if (woken && atomic_exchange(woken, 0))
      return;
    double now = MPI_Wtime();
    if (deadline > 0 && now >= deadline)
      return;
    if (spin_us < 0 || (now - mproc__mpi.last_activity) * 1e6 < spin_us) {
      sched_yield(); /* ranks may outnumber cores */
      continue;
    }
    sleep_us = sleep_us ? sleep_us * 2 : 20;
    if (sleep_us > max_sleep_us)
      sleep_us = max_sleep_us;
    long us = sleep_us;
    if (deadline > 0 && (deadline - now) * 1e6 < us)
      us = (long)((deadline - now) * 1e6) + 1;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
}
