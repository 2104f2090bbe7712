// The comparator interface is public (lsmkv/comparator.h); this header keeps
// the internal include path.
#ifndef LSMKV_UTIL_COMPARATOR_H_
#define LSMKV_UTIL_COMPARATOR_H_

#include "lsmkv/comparator.h"

#endif  // LSMKV_UTIL_COMPARATOR_H_
