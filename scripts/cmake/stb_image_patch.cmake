# stb_image_patch.cmake - a build copy of Debian's stb_image.h (2.27) with
# scripts/patches/stb_image-hostile-input.patch applied, in ${SAM_STB_DIR}/stb_image.h.
# Hostile files reach stb_image from uploads and datasets (it is the WebAssembly
# app's decoder). A patch that no longer applies exactly (a newer Debian stb, a
# changed patch) stops the configure step: the fixes are never silently dropped.
set(SAM_STB_SOURCE /usr/include/stb/stb_image.h)
set(SAM_STB_PATCH ${CMAKE_SOURCE_DIR}/scripts/patches/stb_image-hostile-input.patch)
set(SAM_STB_DIR ${CMAKE_BINARY_DIR}/stb)
if(NOT EXISTS ${SAM_STB_SOURCE})
  message(FATAL_ERROR "${SAM_STB_SOURCE} not found: install libstb-dev (scripts/bootstrap)")
endif()
find_program(SAM_PATCH_PROGRAM patch REQUIRED)
file(MAKE_DIRECTORY ${SAM_STB_DIR})
execute_process(
  COMMAND ${SAM_PATCH_PROGRAM} --fuzz=0 --force --silent --no-backup-if-mismatch -r -
          -o ${SAM_STB_DIR}/stb_image.h.new ${SAM_STB_SOURCE} ${SAM_STB_PATCH}
  RESULT_VARIABLE patch_result OUTPUT_VARIABLE patch_output ERROR_VARIABLE patch_output)
if(NOT patch_result EQUAL 0)
  file(REMOVE ${SAM_STB_DIR}/stb_image.h.new)
  message(FATAL_ERROR "scripts/patches/stb_image-hostile-input.patch does not apply to ${SAM_STB_SOURCE} "
                      "(has Debian's stb changed?):\n${patch_output}")
endif()
file(COPY_FILE ${SAM_STB_DIR}/stb_image.h.new ${SAM_STB_DIR}/stb_image.h ONLY_IF_DIFFERENT)
file(REMOVE ${SAM_STB_DIR}/stb_image.h.new)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${SAM_STB_SOURCE} ${SAM_STB_PATCH})
