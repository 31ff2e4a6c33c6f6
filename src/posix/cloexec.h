/* Descriptors that no exec'd program inherits, on every POSIX system.
 *
 * Linux (and the BSDs) make a descriptor close-on-exec as it is born:
 * pipe2, SOCK_CLOEXEC, accept4, MSG_CMSG_CLOEXEC. macOS has none of them,
 * so there - and in the generic build, which proves this path on Linux -
 * FD_CLOEXEC is set right after. The moment between leaks nothing into
 * mproc's own children (spawn closes every descriptor without FD_CLOEXEC,
 * spawn.c); only an exec by another thread of the program in that moment
 * could inherit one. Likewise MSG_NOSIGNAL: where send has no such flag
 * (macOS), every socket gets SO_NOSIGPIPE as it is born. */
#ifndef MPROC_POSIX_CLOEXEC_H
#define MPROC_POSIX_CLOEXEC_H

#include <stddef.h>
#include <sys/socket.h>

#include "features.h"

/* pipe(2), both ends close-on-exec; nonblock: both non-blocking too.
 * 0, or -1 with errno. */
int mproc__posix_pipe(int fds[2], int nonblock);
/* socketpair(AF_UNIX, SOCK_STREAM), close-on-exec, never SIGPIPE. */
int mproc__posix_socketpair(int sv[2]);
/* socket(domain, SOCK_STREAM, 0), close-on-exec, never SIGPIPE; -1 with
 * errno. */
int mproc__posix_socket(int domain);
/* accept(2) of a close-on-exec socket that never raises SIGPIPE. */
int mproc__posix_accept(int listener);

/* The flags of recvmsg that receive descriptors close-on-exec where the
 * system can; mproc__posix_received_fds marks them where it cannot. */
#if MPROC__LINUX_MECHANISMS
#  define MPROC__RECV_CLOEXEC MSG_CMSG_CLOEXEC
#else
#  define MPROC__RECV_CLOEXEC 0
#endif
/* The descriptors a recvmsg received (SCM_RIGHTS) into msg, each made
 * close-on-exec if it is not yet: the first cap go to out in order, the
 * rest are closed. Returns how many went to out. */
size_t mproc__posix_received_fds(struct msghdr *msg, int *out, size_t cap);

/* send's flag that turns a gone peer into EPIPE instead of SIGPIPE; 0
 * where sockets carry SO_NOSIGPIPE instead. */
#ifdef MSG_NOSIGNAL
#  define MPROC__SEND_NOSIGNAL MSG_NOSIGNAL
#else
#  define MPROC__SEND_NOSIGNAL 0
#endif

#endif
