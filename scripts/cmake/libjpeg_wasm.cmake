# libjpeg_wasm.cmake - libjpeg-turbo's decompressor for the WebAssembly build, from
# Debian's source package (third_party/libjpeg-turbo, fetched by scripts/bootstrap),
# as the static library sam_libjpeg: the browser decodes JPEG with the same library
# and settings as the embedder (libjpeg62-turbo natively), so both see the same
# pixels. No SIMD (its C code is what the SIMD paths are tested against); only the
# decompression sources; config headers written here (what its CMake would write).
set(SAM_LIBJPEG_DIR ${CMAKE_SOURCE_DIR}/third_party/libjpeg-turbo)
if(NOT EXISTS ${SAM_LIBJPEG_DIR}/jdapimin.c)
  message(FATAL_ERROR "${SAM_LIBJPEG_DIR} not found: run scripts/bootstrap")
endif()
file(STRINGS ${SAM_LIBJPEG_DIR}/CMakeLists.txt ljt_version REGEX "^set\\(VERSION [0-9.]+\\)")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" ljt_version "${ljt_version}")
string(REPLACE "." ";" ljt_parts "${ljt_version}")
list(GET ljt_parts 0 ljt_major)
list(GET ljt_parts 1 ljt_minor)
list(GET ljt_parts 2 ljt_patch)
math(EXPR ljt_number "${ljt_major} * 1000000 + ${ljt_minor} * 1000 + ${ljt_patch}")
set(ljt_config ${CMAKE_BINARY_DIR}/libjpeg-config)
file(MAKE_DIRECTORY ${ljt_config})
file(WRITE ${ljt_config}/jconfig.h.new "#define JPEG_LIB_VERSION 62
#define LIBJPEG_TURBO_VERSION ${ljt_version}
#define LIBJPEG_TURBO_VERSION_NUMBER ${ljt_number}
#define C_ARITH_CODING_SUPPORTED 1
#define D_ARITH_CODING_SUPPORTED 1
#define MEM_SRCDST_SUPPORTED 1
#define BITS_IN_JSAMPLE 8
")
file(WRITE ${ljt_config}/jconfigint.h.new "#define BUILD \"sam-wasm\"
#define INLINE __inline__ __attribute__((always_inline))
#define THREAD_LOCAL
#define PACKAGE_NAME \"libjpeg-turbo\"
#define VERSION \"${ljt_version}\"
#define SIZEOF_SIZE_T 4
#define HAVE_BUILTIN_CTZL
#define FALLTHROUGH __attribute__((fallthrough));
")
foreach(h jconfig.h jconfigint.h)
  file(COPY_FILE ${ljt_config}/${h}.new ${ljt_config}/${h} ONLY_IF_DIFFERENT)
  file(REMOVE ${ljt_config}/${h}.new)
endforeach()
set(COPYRIGHT_YEAR "1991-2023")
configure_file(${SAM_LIBJPEG_DIR}/jversion.h.in ${ljt_config}/jversion.h @ONLY)
set(ljt_sources jaricom jcomapi jdapimin jdapistd jdarith jdatasrc jdcoefct jdcolor jddctmgr jdhuff
    jdicc jdinput jdmainct jdmarker jdmaster jdmerge jdphuff jdpostct jdsample jerror jidctflt
    jidctfst jidctint jidctred jmemmgr jmemnobs jquant1 jquant2 jsimd_none jutils)
list(TRANSFORM ljt_sources PREPEND ${SAM_LIBJPEG_DIR}/)
list(TRANSFORM ljt_sources APPEND .c)
add_library(sam_libjpeg STATIC ${ljt_sources})
target_include_directories(sam_libjpeg SYSTEM PUBLIC ${ljt_config} ${SAM_LIBJPEG_DIR})
target_compile_options(sam_libjpeg PRIVATE -O2 -w)
