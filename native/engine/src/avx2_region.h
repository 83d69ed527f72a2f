// AVX2 regions of the engine: code between KILN_AVX2_BEGIN and KILN_AVX2_END is compiled for
// AVX2 while the rest of the file and the build stay at the x86-64-v2 baseline; it runs only
// where a load-time CPU check picked it (TreeEnsemble::isa). One definition for every such file.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KILN_HAVE_AVX2_REGION 1
#include <immintrin.h>
#if defined(__clang__)
#define KILN_AVX2_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx2\"))), apply_to = function)")
#define KILN_AVX2_END _Pragma("clang attribute pop")
#else
// -Wpsabi: GCC notes the ABI of vector arguments; they only pass between always-inlined helpers.
#define KILN_AVX2_BEGIN                                                                         \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx2\")") _Pragma("GCC diagnostic push") \
      _Pragma("GCC diagnostic ignored \"-Wpsabi\"")
#define KILN_AVX2_END _Pragma("GCC diagnostic pop") _Pragma("GCC pop_options")
#endif
#else
#define KILN_HAVE_AVX2_REGION 0
#endif
