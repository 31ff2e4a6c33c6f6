#!/bin/sh
# Runs one group of test_pool_mpi the way users run MPI programs, always
# under an outer timeout (an MPI job that hangs must fail the test, not CI).
#   run.sh shm|tcp|spawn|dies MPIEXEC PROGRAM [GROUP]
#   run.sh mismatch MPIEXEC PROGRAM OTHER_PROGRAM
# shm: 3 ranks on this machine (shared memory); tcp: the same over TCP
# loopback, standing in for separate hosts; spawn: no mpirun, the program
# spawns its workers; dies: a worker dies, and the job must end (non-zero)
# rather than hang; mismatch: the root runs PROGRAM, the workers another
# build of it.
mode=$1 mpiexec=$2 prog=$3 group=${4:-}
# Open MPI refuses root without these; more ranks than cores need
# --oversubscribe; idle ranks yield the CPU to busy ones.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
flags="--oversubscribe --mca mpi_yield_when_idle 1"
tcp="--mca btl tcp,self"
# MPICH's mpiexec (Hydra) runs as root and oversubscribes as it is; its
# TCP-only path is the ch3:sock device, chosen at build time, not here.
if "$mpiexec" --version 2>&1 | grep -q HYDRA; then
  flags="" tcp=""
fi
# Open MPI leaves its own allocations (and its plugins, unloaded) at exit:
# LeakSanitizer would fail every rank of a sanitized build for them.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
case $mode in
  shm) exec timeout -k 10 300 "$mpiexec" $flags -n 3 "$prog" ${group:+"$group"} ;;
  tcp) exec timeout -k 10 300 "$mpiexec" $flags $tcp -n 3 "$prog" ${group:+"$group"} ;;
  mismatch)
    exec timeout -k 10 300 "$mpiexec" $flags -n 1 "$prog" mismatch : -n 2 "$group" mismatch ;;
  spawn)
    export OMPI_MCA_rmaps_base_oversubscribe=1
    exec timeout -k 10 300 "$prog" "$group" ;;
  dies)
    timeout -k 10 120 "$mpiexec" $flags -n 3 "$prog" "$group"
    rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "run.sh: the job ended with $rc: expected it to be ended by mpirun, not to hang" >&2
      exit 1
    fi
    echo "run.sh: the job ended with status $rc as expected (a rank died)"
    exit 0 ;;
esac
echo "run.sh: unknown mode $mode" >&2
exit 2
