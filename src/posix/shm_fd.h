/* A sized descriptor of anonymous shared memory (shm.c), for the region
 * code and for unnamed segments (shm_named.c). */
#ifndef MPROC_POSIX_SHM_FD_H
#define MPROC_POSIX_SHM_FD_H

#include <stddef.h>
#include <stdint.h>

/* As mproc__os_shm_new, called tag where the system lists a process's
 * descriptors (/proc/<pid>/fd, lsof): "mproc" for the library's own
 * regions, "mproc-shm" for a user's unnamed segment. */
int mproc__posix_shm_new_tagged(size_t size, const char *tag, intptr_t *handle);

#endif
