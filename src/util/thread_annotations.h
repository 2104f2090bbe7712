// Clang thread-safety analysis annotations (-Wthread-safety). Under any other
// compiler they expand to nothing. `make tsa` compiles the library and the
// server with clang -Wthread-safety -Werror (docs/design.md, "Locking").
//
// Vocabulary (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
//   CAPABILITY("mutex")     a class that is a lock (InstrumentedMutex)
//   SCOPED_CAPABILITY       an RAII holder of a lock (MutexLock)
//   GUARDED_BY(mu)          a field read or written only with mu held
//   PT_GUARDED_BY(mu)       the object a pointer field points to, likewise
//   REQUIRES(mu)            a function called with mu held (and returning so)
//   EXCLUDES(mu)            a function called without mu (it takes mu itself)
//   ACQUIRE(mu)/RELEASE(mu) a function that takes or drops mu
//   ASSERT_CAPABILITY(mu)   a function that checks at run time that mu is held
//   NO_THREAD_SAFETY_ANALYSIS  a function the analysis cannot follow; say why
#ifndef LSMKV_UTIL_THREAD_ANNOTATIONS_H_
#define LSMKV_UTIL_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define LSMKV_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LSMKV_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) LSMKV_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY LSMKV_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) LSMKV_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) LSMKV_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) LSMKV_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) LSMKV_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) LSMKV_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) LSMKV_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) LSMKV_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) LSMKV_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) LSMKV_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) LSMKV_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) LSMKV_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) LSMKV_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) LSMKV_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) LSMKV_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS LSMKV_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // LSMKV_UTIL_THREAD_ANNOTATIONS_H_
