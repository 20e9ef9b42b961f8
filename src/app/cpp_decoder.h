// cpp_decoder.h - the core's C++ SAM decoder (core/sam_decoder.h) as a native_decoder:
// what the browser's C++ worker runs, in the app's own process. The native build of the
// app tests its request, accept and save logic against it (tests/test_app_cpp_decoder.cpp).
//   native_decoder_backend b(scheduler, make_cpp_decoder(), "C++ native");
#pragma once
#include <memory>

#include "app/native_decoder_backend.h"

namespace sam {

// Weights: a .samw file (scripts/model/export). Requests as the worker gets them.
std::unique_ptr<native_decoder> make_cpp_decoder();

}  // namespace sam
