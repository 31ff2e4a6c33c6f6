/* mproc — Python's multiprocessing for C. Include this one header. */
#ifndef MPROC_H
#define MPROC_H

#include "mproc/args.h"
#include "mproc/connection.h"
#include "mproc/error.h"
#include "mproc/export.h"
#include "mproc/log.h"
#include "mproc/manager.h"
#include "mproc/pool.h"
#include "mproc/pool_backend.h"
#include "mproc/process.h"
#include "mproc/queue.h"
#include "mproc/shm.h"
#include "mproc/sync.h"
#include "mproc/timeout.h"
#include "mproc/version.h"
#include "mproc/wait.h"

#endif
