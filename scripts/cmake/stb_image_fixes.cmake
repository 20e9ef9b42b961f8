# stb_image_fixes.cmake - a copy of Debian's stb_image.h (2.27) with the bounds checks that
# stb_image 2.28 added for corrupt JPEGs, written to ${SAM_STB_DIR}/stb_image.h.
# Hostile files reach stb_image from uploads and datasets; 2.27 reads and writes outside
# its Huffman tables for some of them (found by tests/fuzz/fuzz_image_decode). Each fix is
# an exact text replacement; a header that no longer contains the old text (a newer stb)
# is used unchanged, with a note.
set(SAM_STB_SOURCE /usr/include/stb/stb_image.h)
set(SAM_STB_DIR ${CMAKE_BINARY_DIR}/stb)
file(READ ${SAM_STB_SOURCE} stb)

function(stb_fix name old new)
  string(FIND "${stb}" "${old}" at)
  if(at EQUAL -1)
    message(STATUS "stb_image fix '${name}': text not found (already fixed upstream?), left as is")
    return()
  endif()
  string(REPLACE "${old}" "${new}" patched "${stb}")
  set(stb "${patched}" PARENT_SCOPE)
endfunction()

# A DHT segment declaring more than 256 codes overflowed the 257-entry size list.
stb_fix(huffman-size-list
"   for (i=0; i < 16; ++i)
      for (j=0; j < count[i]; ++j)
         h->size[k++] = (stbi_uc) (i+1);
   h->size[k] = 0;"
"   for (i=0; i < 16; ++i) {
      for (j=0; j < count[i]; ++j) {
         h->size[k++] = (stbi_uc) (i+1);
         if(k >= 257) return stbi__err(\"bad size list\",\"Corrupt JPEG\");
      }
   }
   h->size[k] = 0;")

# An invalid code in the entropy data gave a symbol index outside the table.
stb_fix(huffman-symbol-index
"   c = ((j->code_buffer >> (32 - k)) & stbi__bmask[k]) + h->delta[k];
   STBI_ASSERT("
"   c = ((j->code_buffer >> (32 - k)) & stbi__bmask[k]) + h->delta[k];
   if(c < 0 || c >= 256) // symbol id out of bounds!
       return -1;
   STBI_ASSERT(")

file(WRITE ${SAM_STB_DIR}/stb_image.h.new "${stb}")
file(COPY_FILE ${SAM_STB_DIR}/stb_image.h.new ${SAM_STB_DIR}/stb_image.h ONLY_IF_DIFFERENT)
file(REMOVE ${SAM_STB_DIR}/stb_image.h.new)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${SAM_STB_SOURCE})
