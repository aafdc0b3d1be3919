# lwIP 2.1.3 (third_party/lwip, fetched by tools/setup.sh) for Tern's
# transport servers, with lib/lwip_port standing in for lwIP's IPv4 layer:
#
#   tern_add_lwip(<target> OPTIONS_DIR <dir> [HOST])
#       A static library: lwIP's core with the lwipopts.h in <dir>, and the
#       port (lib/lwip_port: IpLayer, diagnostics). For a ring-3 program
#       (freestanding, links tern_runtime), or with HOST for the host tests
#       (ASan/UBSan). Link it to a program; its include directories come
#       along (lwIP's, the port's, <dir>, lib/). The program defines
#       sys_now() and tern_lwip_random() (arch/cc.h).
#
#   tern_add_isolated_instance(<target> ENTRY <symbol> RENAME <new symbol>
#       LWIP_OPTIONS_DIR <dir> SOURCES <files...>
#       [INCLUDE_DIRECTORIES <dirs...>] [LINK_LIBRARIES <libraries...>])
#       For host tests that need two lwIPs in one process (lwIP's state is
#       global): <files>, lwIP's core and the port compiled for the host,
#       linked into one relocatable object in which every symbol is local
#       except ENTRY, renamed to RENAME. A test links several such
#       libraries and reaches each instance only through its entry (an
#       extern "C" function, typically returning a pointer to an abstract
#       class). References out of the instance (the C and C++ libraries,
#       LINK_LIBRARIES such as tern_base_host) resolve as usual; none may
#       go to another lwIP.

set(TERN_LWIP_DIR ${CMAKE_SOURCE_DIR}/third_party/lwip)
set(TERN_LWIP_PORT_DIR ${CMAKE_SOURCE_DIR}/lib/lwip_port)

# What the transport servers use of lwIP's core (the IPv4 layer is the
# port's ip_layer.cpp; the unused protocols compile to nothing).
set(TERN_LWIP_SOURCES
    core/def.c core/inet_chksum.c core/init.c core/ip.c core/mem.c core/memp.c core/netif.c
    core/pbuf.c core/stats.c core/tcp.c core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c
    core/ipv4/ip4_addr.c)
list(TRANSFORM TERN_LWIP_SOURCES PREPEND ${TERN_LWIP_DIR}/src/)
# The port's parts every build gets (platform_*.cpp and freestanding.cpp
# are chosen per build below).
set(TERN_LWIP_PORT_SOURCES ip_layer.cpp)
list(TRANSFORM TERN_LWIP_PORT_SOURCES PREPEND ${TERN_LWIP_PORT_DIR}/)

# lwIP's C gets the user programs' freestanding flags minus the C++-only
# ones, and no C library headers: GCC's own (stddef.h, stdint.h, ...) and
# the port's few (string.h, stdlib.h).
set(TERN_FREESTANDING_C_FLAGS ${TERN_FREESTANDING_CXX_FLAGS})
list(REMOVE_ITEM TERN_FREESTANDING_C_FLAGS -fno-rtti -fno-threadsafe-statics -fcheck-new)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
    OUTPUT_VARIABLE TERN_GCC_INCLUDE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
# lwIP is warning-free with ours but for one: an empty timer table (no TCP)
# makes a loop bound compare `< 0`.
set(TERN_LWIP_C_WARNINGS ${TERN_WARNINGS} -Wno-type-limits)

function(tern_lwip_check_sources)
  if(NOT EXISTS ${TERN_LWIP_DIR}/src/core/tcp.c)
    message(FATAL_ERROR "lwIP is missing from ${TERN_LWIP_DIR}: run ./tern setup")
  endif()
endfunction()

# The include directories and C settings every lwIP build shares.
function(tern_lwip_common target scope options_dir)
  target_include_directories(${target} ${scope}
      ${options_dir} ${TERN_LWIP_PORT_DIR}/include ${TERN_LWIP_DIR}/src/include)
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_EXTENSIONS ON)
endfunction()

function(tern_add_lwip name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "HOST" "OPTIONS_DIR" "")
  if(NOT arg_OPTIONS_DIR OR NOT EXISTS ${arg_OPTIONS_DIR}/lwipopts.h)
    message(FATAL_ERROR "tern_add_lwip(${name}): OPTIONS_DIR must hold lwipopts.h")
  endif()
  tern_lwip_check_sources()
  if(arg_HOST)
    add_library(${name} STATIC ${TERN_LWIP_SOURCES} ${TERN_LWIP_PORT_SOURCES}
        ${TERN_LWIP_PORT_DIR}/platform_host.cpp)
    tern_lwip_common(${name} PUBLIC ${arg_OPTIONS_DIR})
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wno-type-limits>)
    target_link_libraries(${name} PUBLIC tern_base_host tern_host_flags)
  else()
    add_library(${name} STATIC ${TERN_LWIP_SOURCES} ${TERN_LWIP_PORT_SOURCES}
        ${TERN_LWIP_PORT_DIR}/platform_tern.cpp ${TERN_LWIP_PORT_DIR}/freestanding.cpp)
    tern_lwip_common(${name} PUBLIC ${arg_OPTIONS_DIR})
    # Programs that include lwIP's headers must see the same arch/cc.h choices.
    target_compile_definitions(${name} PUBLIC TERN_LWIP_FREESTANDING)
    target_compile_options(${name} PRIVATE
        $<$<COMPILE_LANGUAGE:C>:${TERN_FREESTANDING_C_FLAGS} ${TERN_LWIP_C_WARNINGS}
          -nostdinc -isystem ${TERN_GCC_INCLUDE_DIR} -I${TERN_LWIP_PORT_DIR}/include/freestanding>)
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_link_libraries(${name} PRIVATE tern_user_flags PUBLIC tern_runtime)
  endif()
endfunction()

function(tern_add_isolated_instance name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "ENTRY;RENAME;LWIP_OPTIONS_DIR"
      "SOURCES;INCLUDE_DIRECTORIES;LINK_LIBRARIES")
  if(NOT arg_ENTRY OR NOT arg_RENAME OR NOT arg_SOURCES)
    message(FATAL_ERROR "tern_add_isolated_instance(${name}): ENTRY, RENAME and SOURCES are required")
  endif()
  if(NOT arg_LWIP_OPTIONS_DIR OR NOT EXISTS ${arg_LWIP_OPTIONS_DIR}/lwipopts.h)
    message(FATAL_ERROR "tern_add_isolated_instance(${name}): LWIP_OPTIONS_DIR must hold lwipopts.h")
  endif()
  tern_lwip_check_sources()

  add_library(${name}_objects OBJECT ${arg_SOURCES} ${TERN_LWIP_SOURCES} ${TERN_LWIP_PORT_SOURCES}
      ${TERN_LWIP_PORT_DIR}/platform_host.cpp)
  tern_lwip_common(${name}_objects PRIVATE ${arg_LWIP_OPTIONS_DIR})
  target_include_directories(${name}_objects PRIVATE ${arg_INCLUDE_DIRECTORIES})
  target_compile_options(${name}_objects PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wno-type-limits>)
  # Linked for their include directories and flags; their code stays outside.
  target_link_libraries(${name}_objects PRIVATE tern_base_host tern_host_flags ${arg_LINK_LIBRARIES})

  # One object (--force-group-allocation dissolves COMDAT groups, so no
  # section of the instance can be swapped for another instance's copy at
  # the final link), then everything local but the entry, which gets its
  # instance's name.
  set(merged ${CMAKE_CURRENT_BINARY_DIR}/${name}.merged.o)
  set(isolated ${CMAKE_CURRENT_BINARY_DIR}/${name}.o)
  add_custom_command(OUTPUT ${isolated}
      COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${merged} $<TARGET_OBJECTS:${name}_objects>
      COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=${arg_ENTRY} ${merged} ${isolated}
      COMMAND ${CMAKE_OBJCOPY} --redefine-sym=${arg_ENTRY}=${arg_RENAME} ${isolated}
      DEPENDS $<TARGET_OBJECTS:${name}_objects>
      COMMENT "Isolating ${name}: only ${arg_RENAME} stays global"
      COMMAND_EXPAND_LISTS VERBATIM)
  add_library(${name} STATIC ${isolated})
  set_target_properties(${name} PROPERTIES LINKER_LANGUAGE CXX)
  target_link_libraries(${name} INTERFACE tern_base_host tern_host_flags ${arg_LINK_LIBRARIES})
endfunction()
