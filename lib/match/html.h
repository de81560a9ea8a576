// HTML as clamscan sees it: which text files it takes for HTML, and the
// normalised forms its target-type-3 (and target-0) signatures are matched
// against instead of the raw bytes (docs/CLAMAV-COMPAT.md section 17; every
// rule below was observed on clamscan 1.4.6's own normaliser output, see
// tests/e2e/html_targets_test.py).
#pragma once

#include <string>
#include <string_view>

namespace vigil::match {

// Whether a text file is HTML to clamscan: one of the tags of its built-in
// file-type table appears anywhere ("<html>", "<Html>", "<HTML>", "<head>",
// "<script", "<img", "<iframe", "<object", "<table" in the spellings the
// table lists, "<a " followed later by "href" in any case of the h and r), or
// the file starts with "<%@ LANGUAGE =".
bool ContainsHtmlMarker(std::string_view data);

struct NormalizedHtml {
  // The document with comments removed, tags and text lower-cased, runs of
  // white space collapsed (dropped after a tag and inside scripts and
  // styles), attributes rewritten as name="value", character references
  // decoded.
  std::string nocomment;
  // The text outside tags (and the targets of links), one space for each
  // tag or character reference.
  std::string notags;
};

void NormalizeHtml(std::string_view in, NormalizedHtml* out);

}  // namespace vigil::match
