// How many CPUs the server may use, and the event-loop threads it runs on
// them by default.
#ifndef LSMKV_SERVER_CPUS_H_
#define LSMKV_SERVER_CPUS_H_

namespace lsmkv::server {

// The CPUs the calling thread may run on (its affinity mask: a container's
// cpuset, taskset), or the machine's count if the mask is unknown; at
// least 1.
unsigned UsableCpus();

// io-threads 0: one event-loop thread per usable CPU but one, and at least
// one. The CPU left over runs the engine's flushes, compactions and WAL
// syncs (and, on a small machine, often the clients): with as many loops
// as CPUs, the loops lose the CPU to those threads in the middle of a
// command and wait for each other on the keys they share. On two CPUs with
// redis-benchmark beside the server, one loop served every test of issue
// 18's set faster than two (docs/BENCHMARKS.md).
int DefaultIoThreads(unsigned cpus);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_CPUS_H_
