// The Engine behind include/vigil/engine.h: an immutable CompiledDb plus facts.
#pragma once

#include <memory>

#include "compile/compiled_db.h"
#include "vigil/engine.h"

namespace vigil {

class Engine {
 public:
  Engine(std::unique_ptr<compile::CompiledDb> db, EngineInfo info)
      : db_(std::move(db)), info_(std::move(info)) {}
  const compile::CompiledDb& db() const { return *db_; }
  const EngineInfo& info() const { return info_; }

 private:
  std::unique_ptr<compile::CompiledDb> db_;
  EngineInfo info_;
};

}  // namespace vigil
