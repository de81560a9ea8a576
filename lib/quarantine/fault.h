// Fault injection for crash tests: a real SIGKILL at a chosen step.
//
// Every step of a file-moving sequence (quarantine, move, restore) calls
// FaultPoint. When the environment variable VIGIL_FAULT_STEP=N is set, the
// N-th call in the process kills the process with SIGKILL, exactly as an
// out-of-memory kill or power loss of the process would. With
// VIGIL_FAULT_TRACE=1 each step is printed to stderr first, so that a test
// can count the steps of a run. Without these variables it costs one
// predictable branch.
#pragma once

namespace vigil::quarantine {

void FaultPoint(const char* step);

}  // namespace vigil::quarantine
