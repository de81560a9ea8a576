// The Engine behind include/vigil/engine.h: an immutable CompiledDb plus facts.
#pragma once

#include <memory>

#include "compile/compiled_db.h"
#include "vigil/engine.h"

namespace vigil {

// What the scan needs to know of the signature set as a whole, found once
// per engine from the signature heads.
struct EngineFacts {
  // Whether some target-7 signature has an offset from the end.
  bool text_eof_offsets = false;
  // Target types (bit per type) of the loaded raw-group signatures other
  // than 0: a buffer is typed (match/target.h) only when some apply.
  uint32_t typed_targets = 0;
  // Whether some PE signature counts from the entry point or a section.
  bool pe_offsets = false;
};

class Engine {
 public:
  Engine(std::unique_ptr<compile::CompiledDb> db, EngineInfo info);
  const compile::CompiledDb& db() const { return *db_; }
  const EngineInfo& info() const { return info_; }
  const EngineFacts& facts() const { return facts_; }

 private:
  std::unique_ptr<compile::CompiledDb> db_;
  EngineInfo info_;
  EngineFacts facts_;
};

}  // namespace vigil
