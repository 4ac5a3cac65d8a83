#ifndef CLAUDE_ENV_CFUSE_SHIM_H
#define CLAUDE_ENV_CFUSE_SHIM_H

// libfuse 3.14 is the oldest release targeted; 35 is the newest API it fully provides.
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#endif
