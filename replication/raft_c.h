// Includes libraft's C headers (raft.h, raft/fixture.h, raft/uv.h) into C++. Include this,
// never <raft.h> directly.
//
// raft.h checks its own ABI with static assertions whose operands define
// anonymous structs inside sizeof, which C++ forbids. Those checks were made
// when libraft itself was compiled (as C); here they are compiled out by
// presenting raft.h the C spelling (_Static_assert), defined as nothing, for the
// length of the include. raft.h has no extern "C" of its own.
#ifndef LSMKV_REPLICATION_RAFT_C_H_
#define LSMKV_REPLICATION_RAFT_C_H_

#pragma push_macro("__cpp_static_assert")
#undef __cpp_static_assert
#define _Static_assert(cond, message)
extern "C" {
#include <raft.h>
#include <raft/fixture.h>
#include <raft/uv.h>
}
#undef _Static_assert
#pragma pop_macro("__cpp_static_assert")

#endif  // LSMKV_REPLICATION_RAFT_C_H_
