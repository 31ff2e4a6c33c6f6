# Which MPI a find_package(MPI) found: "Open MPI", "MPICH" or "unknown",
# from the library's version string where FindMPI gives it, else from the
# libraries' names. mproc::mpi records the one it was built with, and its
# package refuses another (mprocConfig.cmake): the two MPIs' ABIs differ,
# and the mismatch would otherwise show as undefined symbols at link time.
function(mproc_mpi_flavor out)
  set(text "${MPI_C_LIBRARY_VERSION_STRING} ${MPI_C_LIBRARIES} ${MPI_C_COMPILER}")
  string(TOLOWER "${text}" text)
  if(text MATCHES "open mpi|openmpi|ompi")
    set(${out} "Open MPI" PARENT_SCOPE)
  elseif(text MATCHES "mpich")
    set(${out} "MPICH" PARENT_SCOPE)
  else()
    set(${out} "unknown" PARENT_SCOPE)
  endif()
endfunction()
