// File-system calls for paths of any length. The kernel refuses a path of
// PATH_MAX (4096) bytes or more with ENAMETOOLONG, but a directory tree can
// be nested deeper than that, and a file hidden there must not escape a
// scan. These functions try the plain call first and, only on ENAMETOOLONG,
// reach the file one directory at a time with openat(2), resolving each
// component as the kernel would (symlinks followed, except in the last
// component where the call's own flags decide).
#pragma once

#include <sys/stat.h>

#include <string>

namespace vigil::walk {

// open(2): a descriptor, or -1 with errno set.
int OpenAnyLength(const std::string& path, int flags);

// stat(2) (follow = true) or lstat(2): 0, or -1 with errno set.
int StatAnyLength(const std::string& path, struct stat* st, bool follow);

}  // namespace vigil::walk
