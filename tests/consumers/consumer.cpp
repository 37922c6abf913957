// A program outside urm.cpp's tree that uses the library: built three ways
// by run.sh (add_subdirectory, find_package after install, plain -I include).
#include <cstdio>

#include "urm/core/dtype.hpp"
#include "urm/core/thread_pool.hpp"

int main() {
  urm::ThreadPool pool(2);
  std::printf("urm consumer ok: bf16(1.0) = 0x%04x, %zu threads\n", urm::f32_to_bf16(1.0f), pool.size());
  return urm::f32_to_bf16(1.0f) == 0x3f80 ? 0 : 1;
}
