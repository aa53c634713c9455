# BPF objects and their libbpf skeletons: dnswash_bpf_object(NAME [SOURCE_DIR dir] [DEPENDS...]).
# clang -target bpf with the uapi headers of the build host; like libbpf-bootstrap's
# FindBpfObject.cmake we add the system include dirs with -idirafter instead of installing
# i386 multilib headers (asm/types.h lives under the multiarch dir on Debian).
# Outputs go to ${DNSWASH_BPF_GEN}: NAME.bpf.o and NAME_bpf.skel.h, target NAME_skel.
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

execute_process(
  COMMAND ${BPF_CLANG} -v -E -
  INPUT_FILE /dev/null OUTPUT_QUIET ERROR_VARIABLE _clang_v)
string(REGEX MATCH "#include <...> search starts here:\n(.*)End of search list" _m "${_clang_v}")
string(REGEX REPLACE "\n *" ";" _sys_dirs "${CMAKE_MATCH_1}")
set(BPF_SYS_INCLUDES "")
foreach(d IN LISTS _sys_dirs)
  if(d)
    list(APPEND BPF_SYS_INCLUDES -idirafter ${d})
  endif()
endforeach()

set(BPF_CFLAGS -g -O2 -target bpf -mcpu=v3 -Wall -Wextra ${DNSWASH_WERROR_FLAG}
  -Wno-unused-parameter -D__TARGET_ARCH_x86 -I${PROJECT_SOURCE_DIR}/bpf ${BPF_SYS_INCLUDES})

set(DNSWASH_BPF_GEN ${PROJECT_BINARY_DIR}/bpf/gen)
file(MAKE_DIRECTORY ${DNSWASH_BPF_GEN})

function(dnswash_bpf_object name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE_DIR" "DEPENDS")
  if(NOT arg_SOURCE_DIR)
    set(arg_SOURCE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  set(src ${arg_SOURCE_DIR}/${name}.bpf.c)
  set(obj ${DNSWASH_BPF_GEN}/${name}.bpf.o)
  set(skel ${DNSWASH_BPF_GEN}/${name}_bpf.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} ${BPF_CFLAGS} -c ${src} -o ${obj}
    DEPENDS ${src} ${arg_DEPENDS}
    COMMENT "clang -target bpf ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "bpftool gen skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${skel})
endfunction()
