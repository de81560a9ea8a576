// Fault injection for the update crash tests: a real SIGKILL at a chosen step.
//
// `vigil update` calls FaultPoint at every step that changes the disk. With
// VIGIL_FAULT_STEP=N in the environment the N-th call kills the process
// with SIGKILL; with VIGIL_FAULT_TRACE=1 each step is printed to stderr as
// "vigil-fault-step N NAME", so a test can count the steps of a run.
// Without these variables a call costs one predictable branch.
#pragma once

namespace vigil::update {

void FaultPoint(const char* step);

}  // namespace vigil::update
