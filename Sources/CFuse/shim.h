#ifndef CLAUDE_ENV_CFUSE_SHIM_H
#define CLAUDE_ENV_CFUSE_SHIM_H

// libfuse 3.14 is the oldest release targeted; 35 is the newest API it fully provides.
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

// Macros and version-suffixed symbols, as plain functions Swift can call.

static inline int cfuse_session_loop_mt(struct fuse_session *se, unsigned max_idle_threads) {
    struct fuse_loop_config config = { .clone_fd = 0, .max_idle_threads = max_idle_threads };
    return fuse_session_loop_mt_32(se, &config);
}

static inline unsigned cfuse_cap_writeback_cache(void) { return FUSE_CAP_WRITEBACK_CACHE; }
static inline unsigned cfuse_cap_flock_locks(void) { return FUSE_CAP_FLOCK_LOCKS; }
static inline unsigned cfuse_cap_posix_locks(void) { return FUSE_CAP_POSIX_LOCKS; }
static inline unsigned cfuse_cap_export_support(void) { return FUSE_CAP_EXPORT_SUPPORT; }

static inline int cfuse_set_attr_mode(void) { return FUSE_SET_ATTR_MODE; }
static inline int cfuse_set_attr_uid(void) { return FUSE_SET_ATTR_UID; }
static inline int cfuse_set_attr_gid(void) { return FUSE_SET_ATTR_GID; }
static inline int cfuse_set_attr_size(void) { return FUSE_SET_ATTR_SIZE; }
static inline int cfuse_set_attr_atime(void) { return FUSE_SET_ATTR_ATIME; }
static inline int cfuse_set_attr_mtime(void) { return FUSE_SET_ATTR_MTIME; }
static inline int cfuse_set_attr_atime_now(void) { return FUSE_SET_ATTR_ATIME_NOW; }
static inline int cfuse_set_attr_mtime_now(void) { return FUSE_SET_ATTR_MTIME_NOW; }

#endif
