# Tests are registered by glob, never one stanza each.
#
#  tests/unit/test_*.c   Check unit tests: one executable per file.
#  tests/lit/**/*.{nn,ir,test}
#                        LLVM-style tests: RUN lines inside the file run
#                        through tests/lit.sh (%dlc, %s, %t, FileCheck); a
#                        `REQUIRES: nvcc` line makes one exit 77 without
#                        nvcc, which CTest reports as skipped.

file(GLOB unit_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${unit_tests})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${CMAKE_SOURCE_DIR}/tests/unit/testutil.c)
  target_compile_options(${name} PRIVATE ${DLC_WARN} -Wno-gnu-zero-variadic-macro-arguments)
  target_link_libraries(${name} PRIVATE dlc_codegen dlc_passes dlc_frontend dlc_ir dlrt PkgConfig::CHECK Threads::Threads
                        ${OPENBLAS_LIB})
  target_include_directories(${name} SYSTEM PRIVATE ${CBLAS_INCLUDE_DIR}) # runtime/gemm.c's tests call cblas
  target_compile_definitions(${name} PRIVATE
    DLC_SOURCE_DIR="${CMAKE_SOURCE_DIR}" DLC_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit ENVIRONMENT "CK_DEFAULT_TIMEOUT=120")
endforeach()

file(GLOB_RECURSE lit_tests CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/tests/lit/*.nn ${CMAKE_SOURCE_DIR}/tests/lit/*.ir ${CMAKE_SOURCE_DIR}/tests/lit/*.test)
foreach(t ${lit_tests})
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/tests/lit ${t})
  add_test(NAME lit/${rel}
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/lit.sh ${t}
            $<TARGET_FILE:dlc> ${FILECHECK} ${CMAKE_BINARY_DIR}/lit-tmp)
  set_tests_properties(lit/${rel} PROPERTIES LABELS lit SKIP_RETURN_CODE 77)
endforeach()

# tests/gpu/*.sh (but lib.sh): need a CUDA device (label gpu).  On a machine
# without a GPU each prints a SKIP line and exits 77, which CTest reports as
# skipped; with a GPU, a broken CUDA setup fails them (tests/gpu/lib.sh).
# `make test-gpu` runs them from a build without sanitizers (build/gpu).
file(GLOB gpu_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/gpu/*.sh)
list(FILTER gpu_tests EXCLUDE REGEX "/lib\\.sh$")
foreach(t ${gpu_tests})
  get_filename_component(name ${t} NAME_WE)
  add_test(NAME gpu/${name}
    COMMAND bash ${t} $<TARGET_FILE:dlc> ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/gpu-tmp/${name})
  set_tests_properties(gpu/${name} PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 1800)
endforeach()
