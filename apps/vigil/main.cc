// vigil: the command-line front end. Subcommands are thin layers over lib/.
#include <cstdio>
#include <cstring>
#include <string>

namespace vigil::cli {
int ScanCommand(int argc, char** argv);
int QuarantineCommand(int argc, char** argv);
int UpdateCommand(int argc, char** argv);
int LogCommand(int argc, char** argv);
int StatusCommand(int argc, char** argv);
int CheckinCommand(int argc, char** argv);
}

namespace {

constexpr const char* kHelp = R"(Usage: vigil COMMAND [OPTIONS]

Commands:
  scan [OPTIONS] PATH...   scan files and directories (see: vigil scan --help)
  quarantine COMMAND       list, show, restore, delete, purge, export vault entries
  update [OPTIONS]         fetch, verify and install signature updates (see: vigil update --help)
  log verify --server URL  audit an update server's transparency log
  status [OPTIONS]         how current the signatures are, and why (see: vigil status --help)
  checkin [OPTIONS]        report this endpoint's protection to the update server
  version                  print the version

)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "scan") return vigil::cli::ScanCommand(argc - 2, argv + 2);
  if (cmd == "quarantine") return vigil::cli::QuarantineCommand(argc - 2, argv + 2);
  if (cmd == "update") return vigil::cli::UpdateCommand(argc - 2, argv + 2);
  if (cmd == "log") return vigil::cli::LogCommand(argc - 2, argv + 2);
  if (cmd == "status") return vigil::cli::StatusCommand(argc - 2, argv + 2);
  if (cmd == "checkin") return vigil::cli::CheckinCommand(argc - 2, argv + 2);
  if (cmd == "version" || cmd == "--version" || cmd == "-V") {
    std::printf("vigil %s\n", VIGIL_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::fprintf(stderr, "vigil: unknown command '%s'\n%s", cmd.c_str(), kHelp);
  return 2;
}
