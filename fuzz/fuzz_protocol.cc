// libFuzzer target: vigild's command framing and parsing, and its
// configuration parser. Any input must give a command, an error or a
// request for more data, never a crash; a frame never claims more bytes
// than it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config.h"
#include "daemon/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::daemon;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // A stream of commands, as a client would pipeline them in a session.
  std::string_view rest = in;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    Frame f = NextFrame(rest, /*drained=*/(i & 1) != 0);
    if (f.status != Frame::Status::kComplete) break;
    if (f.consumed == 0 || f.consumed > rest.size()) std::abort();
    Request r;
    if (ParseCommand(f.text, f.delimiter, &r) == ParseError::kNone) {
      if (!r.argument.empty() && r.argument.size() >= f.text.size()) std::abort();
      (void)Reply(CommandName(r.command), r.delimiter, static_cast<uint64_t>(i));
    }
    rest.remove_prefix(f.consumed);
  }
  // The same bytes as a configuration file.
  auto cfg = ParseConfig(in, "fuzz.conf");
  if (!cfg.ok() && cfg.status().message().rfind("fuzz.conf:", 0) != 0) std::abort();
  return 0;
}
