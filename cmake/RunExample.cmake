# Runs one example program as a test: it must exit 0 and print what it
# should (CTest's PASS_REGULAR_EXPRESSION alone would ignore the exit code).
#   cmake -DPROG=<exe> [-DEMULATOR=<cmd;args>] -DEXPECT=<regex> -P RunExample.cmake
execute_process(COMMAND ${EMULATOR} ${PROG} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 120)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} exited with ${rc}\n${err}")
endif()
if(NOT "${out}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "${PROG}: the output does not match '${EXPECT}'")
endif()
