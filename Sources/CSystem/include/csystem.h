#ifndef CLAUDE_ENV_CSYSTEM_H
#define CLAUDE_ENV_CSYSTEM_H

#include <spawn.h>

// Linux calls that Swift's Glibc module does not expose.

/// Makes the process undumpable (no core files, no ptrace without CAP_SYS_PTRACE) and sets
/// its core size limit to zero. Returns 0, or -1 with errno set.
int csystem_forbid_dumps(void);

/// Adds "close every descriptor from `lowest` up" to `actions` (glibc 2.34 and later), so a
/// spawned daemon inherits nothing its parent happened to have open.
int csystem_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

/// Tunes glibc's allocator for a long-running server whose threads free each other's memory:
/// one heap for all threads, and a fixed size above which buffers are mapped on their own.
void csystem_tune_heap_for_serving(int mapping_threshold);

/// Returns the free pages inside the heap to the system (malloc_trim).
void csystem_release_free_heap(void);

/// Starts writing the dirty pages of a file range to disk without waiting for them, so that a
/// later fsync has less left to do. Returns 0, or -1 with errno set.
int csystem_start_writeback(int descriptor, long long offset, long long count);

#endif
