/*
 * cache_dir.h - where a user's token cache lives.  An explicit directory
 * (cache_dir, AZMI_CACHE_DIR) is used or refused as it is; the default is
 * the first of these that is private to the effective user:
 *   root:   /run/azmi
 *   others: $XDG_RUNTIME_DIR/azmi (when that directory is the user's own and
 *           not writable by others), /tmp/azmi-<uid>, ~/.cache/azmi (home from
 *           the password database)
 * so that another local user who makes /tmp/azmi-<uid> first cannot switch
 * the cache off or read it.  Every directory is opened with O_NOFOLLOW and
 * checked with fstat: owned by the user, no group or other permission.
 */
#ifndef AZMI_CACHE_DIR_H
#define AZMI_CACHE_DIR_H

#include "log.h"

/*
 * Open (making when missing, mode 0700) the cache directory: `dir`, or the
 * default above when NULL.  Returns a directory descriptor and sets *path
 * (malloc'd) to the directory used; -1 when none is safe, with a warning for
 * an explicit directory and a debug line for the default (*path then names
 * the first choice, or is NULL).
 */
int cache_dir_open(const char *dir, const struct log_sink *log, char **path);

#endif
