// Signed notes (C2SP signed-note) with Ed25519 keys.
//
// A note is UTF-8 text of one or more lines, each ending in '\n', followed by
// a blank line and one or more signature lines:
//
//   <text lines>\n
//   \n
//   — <key name> <base64(key id (4 bytes, big-endian) || Ed25519 signature)>\n
//
// The signature covers the text including its final '\n'. The key id is the
// first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key), where
// 0x01 is the Ed25519 signature type. Keys are stored in the spec's text
// forms:
//   verifier (public):  <name>+<key id, 8 hex>+<base64(0x01 || 32-byte public key)>
//   signer (secret):    PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte seed)>
//
// Both release manifests and log checkpoints are signed notes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::update {

struct NoteVerifier {
  std::string name;
  uint32_t key_id = 0;
  std::array<uint8_t, 32> public_key{};
};

struct NoteSigner {
  std::string name;
  uint32_t key_id = 0;
  std::array<uint8_t, 64> secret_key{};  // libsodium form: seed || public key
  NoteVerifier Verifier() const;
};

// A key name is non-empty UTF-8 without spaces, '+' or control characters.
bool ValidKeyName(std::string_view name);
uint32_t NoteKeyId(std::string_view name, const std::array<uint8_t, 32>& public_key);

Result<NoteSigner> GenerateSigner(std::string_view name);
Result<NoteSigner> SignerFromSeed(std::string_view name, const std::array<uint8_t, 32>& seed);
std::string FormatSignerKey(const NoteSigner& s);    // one line, no newline
std::string FormatVerifierKey(const NoteVerifier& v);
// Parse the text forms; surrounding whitespace (a trailing newline) is ignored.
Result<NoteSigner> ParseSignerKey(std::string_view text);
Result<NoteVerifier> ParseVerifierKey(std::string_view text);

// Signs `text` (must be a valid note text: non-empty, ending in '\n', no
// blank line, no control characters but '\n').
Result<std::string> SignNote(std::string_view text, const NoteSigner& signer);

// Parses `note`, and returns its text if it carries a valid signature by
// `verifier` (matched by name and key id; other signatures are ignored).
// Malformed notes, notes without that key's signature, and notes whose
// signature by that key does not verify are all errors, with messages that
// tell them apart.
Result<std::string> OpenNote(std::string_view note, const NoteVerifier& verifier);

// Splits a note into text and signature block without verifying anything
// (for saving evidence and for diagnostics).
bool SplitNote(std::string_view note, std::string_view* text, std::string_view* signatures);

}  // namespace vigil::update
