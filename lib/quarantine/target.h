// A file opened once, scanned through its descriptor, and then acted upon
// through that same descriptor (quarantine, move, copy, remove).
//
// The point is to act on what was scanned: the file is opened with
// O_NOFOLLOW relative to its directory, and before the original is removed
// we check that the directory entry still names the same inode and that the
// inode was not modified since it was opened. A file swapped for a symlink
// or another file, or changed after the scan, is left alone.
#pragma once

#include <sys/stat.h>

#include <string>

#include "quarantine/fs.h"
#include "vigil/status.h"

namespace vigil::quarantine {

struct Target {
  UniqueFd dir;       // the directory holding the file
  UniqueFd file;      // the file, read-only, opened with O_NOFOLLOW
  std::string name;   // its name in `dir`
  std::string path;   // the path as the caller named it
  struct stat st {};  // fstat at open time, before any scan
};

// Opens a regular file for scanning and acting. On failure *err (if given)
// holds the errno that describes it best: ENOENT, ELOOP (the last component
// is a symlink), EINVAL (not a regular file), or another open error.
Result<Target> OpenTarget(const std::string& path, int* err = nullptr);

// The absolute path of the target with symlinked directories resolved.
std::string CanonicalPath(const Target& t);

// Whether the target is still the file that was opened: same directory
// entry -> same inode, unmodified (size, mtime, ctime). The status message
// says what changed.
Status CheckUnchanged(const Target& t);

// Failure codes shared by every action, so callers can print why.
//   kInvalidArgument: the file changed or was swapped; left in place.
//   kIoError: a file-system error (ENOSPC, EROFS, EACCES, ...); left in place.

// `--remove`: unlinks the target after CheckUnchanged.
Status RemoveTarget(const Target& t);

// `--copy=DIR` / `--move=DIR`: copies (or renames, within one file system)
// into DIR under the same name, adding ".001", ".002"... when the name is
// taken. Move removes the original only once the copy is durable and the
// original re-hashes to the copied bytes. Returns the destination path.
Result<std::string> CopyTarget(const Target& t, const std::string& dest_dir);
Result<std::string> MoveTarget(const Target& t, const std::string& dest_dir);

// Copies all bytes of `src` (pread from offset 0) into `dst` (written at
// its offset) and returns their SHA-256 (hex).
Result<std::string> CopyBytes(int src, int dst, uint64_t* size);

}  // namespace vigil::quarantine
