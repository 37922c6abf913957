// CpuFeatures — what the CPU and the operating system let this process run.
//
// Kernels are compiled for several instruction sets (with per-function target
// attributes) and chosen at run time, so one portable binary still uses AMX
// or AVX-512 where the CPU has them. An instruction set is usable only when
//   1. CPUID says the CPU implements it,
//   2. the OS saves its registers on a context switch (XCR0, read with
//      xgetbv; e.g. bits 5-7 for the 512-bit registers), and
//   3. for AMX on Linux, the process has asked for permission to use the
//      large tile-data state (arch_prctl(ARCH_REQ_XCOMP_PERM,
//      XFEATURE_XTILEDATA), Linux >= 5.16; without it the first tile
//      instruction raises SIGILL).
//
// cpu_features() does all of this once per process and caches the answer in a
// function-local static (thread-safe initialisation). A cache is right here:
// the CPU does not change while the process runs, and the AMX permission is
// process-wide (the kernel grants it to every thread of the process, present
// and future), so asking once is both necessary and sufficient. If the
// request fails (old kernel, seccomp, a hypervisor that hides the state) AMX
// is reported as unusable and the kernels fall back to the next best path.
#pragma once

#include <cstdint>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace urm {

struct CpuFeatures {
  std::string brand;  // CPUID brand string, e.g. "Intel(R) Xeon(R) Platinum 8488C"

  // Implemented by the CPU (CPUID).
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512_bf16 = false;  // vdpbf16ps, vcvtne2ps2bf16
  bool avx512_vnni = false;  // vpdpbusd on zmm
  bool avx_vnni = false;     // vpdpbusd on ymm (VEX encoding)
  bool amx_tile = false;
  bool amx_bf16 = false;  // tdpbf16ps
  bool amx_int8 = false;  // tdpbusd and the other int8 tile dot products

  // Enabled by the operating system.
  bool os_avx = false;     // XCR0 bits 1-2: XMM and YMM state saved
  bool os_avx512 = false;  // XCR0 bits 5-7: opmask, ZMM_Hi256, Hi16_ZMM saved
  bool os_amx = false;     // XCR0 bits 17-18 and, on Linux, ARCH_REQ_XCOMP_PERM granted

  // What a kernel may actually execute: implemented and enabled.
  bool can_avx2_fma() const { return avx2 && fma && os_avx; }
  bool can_f16c() const { return f16c && os_avx; }
  bool can_avx2() const { return avx2 && os_avx; }
  bool can_avx_vnni() const { return avx2 && avx_vnni && os_avx; }
  bool can_avx512() const { return avx512f && avx512bw && os_avx512; }
  bool can_avx512_vnni() const { return avx512f && avx512bw && avx512_vnni && os_avx512; }
  bool can_avx512_bf16() const { return avx512f && avx512bw && avx512_bf16 && os_avx512; }
  bool can_amx_bf16() const { return amx_tile && amx_bf16 && os_amx && can_avx512_bf16(); }
  // The AMX-INT8 kernel hands the rows and k groups its tiles do not cover to
  // the AVX512-VNNI kernel (matmul_int8_amx.hpp), so it needs that too.
  bool can_amx_int8() const { return amx_tile && amx_int8 && os_amx && can_avx512_vnni(); }
};

namespace detail {

#if defined(__x86_64__) || defined(__i386__)
inline std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0u));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}
#endif

// Linux: ask for the AMX tile-data state. XFEATURE_XTILEDATA is state
// component 18 of XSAVE (Intel SDM vol. 1, 13.1); the uapi headers give
// ARCH_REQ_XCOMP_PERM / ARCH_GET_XCOMP_PERM but not this number (the kernel's
// Documentation/arch/x86/xstate.rst defines it in its own example).
inline bool request_amx_permission() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr unsigned long kXfeatureXtiledata = 18;
  if (::syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, kXfeatureXtiledata) != 0) return false;
  unsigned long permitted = 0;
  if (::syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &permitted) != 0) return false;
  return (permitted & (1ul << kXfeatureXtiledata)) != 0;
#elif defined(__x86_64__)
  return true;  // other OSes enable the state through XCR0 alone
#else
  return false;
#endif
}

inline CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  const unsigned max_leaf = static_cast<unsigned>(__get_cpuid_max(0, nullptr));
  if (max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
    f.fma = (c >> 12) & 1u;
    f.f16c = (c >> 29) & 1u;
    const bool osxsave = (c >> 27) & 1u;
    const bool avx = (c >> 28) & 1u;
    if (osxsave && avx) {
      const std::uint64_t xcr0 = read_xcr0();
      f.os_avx = (xcr0 & 0x6u) == 0x6u;
      f.os_avx512 = f.os_avx && (xcr0 & 0xe0u) == 0xe0u;
      f.os_amx = (xcr0 & 0x60000u) == 0x60000u;
    }
  }
  if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    const unsigned subleaves = a;
    f.avx2 = (b >> 5) & 1u;
    f.avx512f = (b >> 16) & 1u;
    f.avx512bw = (b >> 30) & 1u;
    f.avx512_vnni = (c >> 11) & 1u;
    f.amx_bf16 = (d >> 22) & 1u;
    f.amx_tile = (d >> 24) & 1u;
    f.amx_int8 = (d >> 25) & 1u;
    if (subleaves >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
      f.avx_vnni = (a >> 4) & 1u;
      f.avx512_bf16 = (a >> 5) & 1u;
    }
  }
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned r[4] = {};
      __get_cpuid(0x80000002u + i, &r[0], &r[1], &r[2], &r[3]);
      for (unsigned j = 0; j < 16; ++j) brand[16 * i + j] = static_cast<char>((r[j / 4] >> (8 * (j % 4))) & 0xffu);
    }
    f.brand = brand;
    const auto first = f.brand.find_first_not_of(' ');
    f.brand = first == std::string::npos ? std::string() : f.brand.substr(first);
  }
  // Only a CPU with tiles needs (and can be given) the permission.
  f.os_amx = f.os_amx && f.amx_tile && request_amx_permission();
#endif
  if (f.brand.empty()) f.brand = "unknown CPU";
  return f;
}

}  // namespace detail

// The features of this machine, detected (and AMX permission requested) on
// the first call.
inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detail::detect_cpu_features();
  return features;
}

// One line per group, e.g.
//   cpu: Intel(R) Xeon(R) Processor
//   isa: avx2 fma f16c avx512f avx512bw avx512_bf16 avx512_vnni avx_vnni amx_tile amx_bf16 amx_int8
//   os:  avx avx512 amx (tile data permitted)
inline std::string describe_cpu(const CpuFeatures& f) {
  std::string s = "cpu: " + f.brand + "\nisa:";
  const auto add = [&s](bool on, const char* name) {
    if (on) s += std::string(" ") + name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512_bf16, "avx512_bf16");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx_vnni, "avx_vnni");
  add(f.amx_tile, "amx_tile");
  add(f.amx_bf16, "amx_bf16");
  add(f.amx_int8, "amx_int8");
  s += "\nos: ";
  add(f.os_avx, "avx");
  add(f.os_avx512, "avx512");
  add(f.os_amx, "amx (tile data permitted)");
  if (f.amx_tile && !f.os_amx) s += " amx NOT permitted (XCR0 or arch_prctl refused)";
  return s;
}

}  // namespace urm
