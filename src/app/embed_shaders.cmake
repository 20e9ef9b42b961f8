# Writes OUT: one `static const char *shader_<name>` per SHADER_DIR/<name>.glsl.
# The #version line is not in the files; the renderer prepends it at run time.
file(GLOB files ${SHADER_DIR}/*.glsl)
set(text "// generated from shaders/*.glsl by embed_shaders.cmake; do not edit\n#pragma once\n")
foreach(f ${files})
  get_filename_component(name ${f} NAME_WE)
  file(READ ${f} body)
  string(APPEND text "static const char *shader_${name} = R\"sam_glsl(${body})sam_glsl\";\n")
endforeach()
file(WRITE ${OUT}.tmp "${text}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
