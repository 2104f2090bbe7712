// File helpers built on Env alone, for the layers above env/ (checkpoint,
// the operator tools). The public ones (WriteStringToFile, ReadFileToString)
// are declared in lsmkv/env.h.
//
// Thread safety: thread safe as far as the Env is.
#ifndef LSMKV_ENV_ENV_UTIL_H_
#define LSMKV_ENV_ENV_UTIL_H_

#include <cstdint>
#include <string>

#include "lsmkv/env.h"
#include "lsmkv/status.h"

namespace lsmkv {

// Copies the first `limit` bytes of src (the whole file if limit is
// UINT64_MAX) to a new file dst and syncs it. IOError if src holds fewer
// than limit bytes. dst is removed on failure.
Status CopyFile(Env* env, const std::string& src, const std::string& dst, uint64_t limit);
// The same from an already open file (read from its current position).
Status CopyOpenFile(Env* env, SequentialFile* src, const std::string& src_name,
                    const std::string& dst, uint64_t limit);

}  // namespace lsmkv

#endif  // LSMKV_ENV_ENV_UTIL_H_
