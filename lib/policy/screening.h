// Denied-party screening at activation and purchase: buyers' names against
// the US Consolidated Screening List and OpenSanctions lists, by fuzzy name
// match (normalised names, Jaro-Winkler).
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::policy {

struct Party {
  std::string id;                      // the list's own id or entity number
  std::string name;
  std::vector<std::string> aliases;
  std::vector<std::string> countries;  // as given by the list (codes or names)
  std::string source;                  // the list, e.g. "Entity List (EL) - Bureau of Industry and Security"
  std::string list_file;               // the file it came from
};

// The largest list file LoadDeniedParties reads (the full CSL is ~60 MiB,
// OpenSanctions' default collection a few hundred).
inline constexpr size_t kMaxListFile = size_t{2} << 30;

// Loads a list; the format is recognised by its header row (columns are
// found by name, in any order, extra columns ignored):
//  - the US Consolidated Screening List CSV (trade.gov), header
//    _id,source,entity_number,type,programs,name,title,addresses,
//    federal_register_notice,start_date,end_date,standard_order,
//    license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,
//    gross_registered_tonnage,vessel_flag,vessel_owner,remarks,
//    source_list_url,alt_names,citizenships,dates_of_birth,nationalities,
//    places_of_birth,source_information_url,ids
//    (as published at data.trade.gov/downloadable_consolidated_screening_list;
//    needs source, entity_number, type, programs, name, alt_names).
//    alt_names and addresses are ";"-separated; countries come from the last
//    ","-part of each address, and from citizenships and nationalities.
//  - the OpenSanctions "simple" CSV (targets.simple.csv), header
//    id,schema,name,aliases,birth_date,countries,addresses,identifiers,
//    sanctions,phones,emails,[program_ids,]dataset,first_seen,last_seen,
//    last_change (program_ids appears in newer exports; needs id, schema,
//    name, aliases, countries, dataset). aliases and countries are
//    ";"-separated; the dataset column becomes Party.source.
// Errors: "FILE: unrecognised header ..." naming both accepted formats, and
// "FILE:LINE: ..." for CSV errors and rows with the wrong number of fields.
Result<std::vector<Party>> LoadDeniedParties(const std::string& path);
// The same on text already read (the fuzzer's entry point).
Result<std::vector<Party>> ParseDeniedParties(std::string_view text, const std::string& file_name);

// Canonical form of a name for matching:
//  - lower case; Latin-1 and Latin Extended-A/B letters folded to ASCII
//    (é->e, ß->ss, æ->ae, ø->o, ł->l, đ->d, þ->th, ...); combining marks
//    dropped;
//  - Cyrillic transliterated with the ICAO Doc 9303 scheme used in Russian
//    passports since 2013 (ж zh, х kh, ц ts, ч ch, ш sh, щ shch, ы y,
//    й i, ю iu, я ia, ъ ie; ь dropped; Ukrainian є ie, і i, ї i, ґ g), so
//    "Евгений Касперский" -> "evgenii kasperskii"; Greek by ELOT 743
//    (θ th, χ ch, ψ ps, η i, υ y, ...);
//  - apostrophes dropped ("O'Brien" -> "obrien"); other punctuation,
//    symbols and separators -> space;
//  - legal-form noise tokens removed (llc, ltd, inc, ao, zao, ooo, gmbh,
//    jsc, co, corp, the, ...);
//  - tokens sorted, so "Kaspersky Eugene" == "Eugene Kaspersky"; joined by
//    one space.
// Other scripts pass through unchanged (as lower-cased UTF-8 where the
// script has case). Invalid UTF-8 bytes act as separators.
//
// kGermanUmlauts folds Ä Ö Ü as German spells them without the dots (ae oe
// ue) instead of dropping the dots: the screener indexes and queries both
// forms of a name that has them, so "Müller" meets "Mueller" as well as
// "Muller".
enum class NameFold { kPlain, kGermanUmlauts };
std::string NormaliseName(std::string_view utf8, NameFold fold = NameFold::kPlain);

// Jaro-Winkler similarity in [0, 1] over bytes: the standard definition
// (match window max(|a|,|b|)/2 - 1), prefix scale 0.1, prefix up to 4,
// applied at every Jaro score. Two empty strings score 1.
double JaroWinkler(std::string_view a, std::string_view b);

struct ScreenMatch {
  double score = 0;
  const Party* party = nullptr;
  std::string matched_name;  // the list's name or alias that matched
};

class Screener {
 public:
  static constexpr double kDefaultThreshold = 0.92;

  void Add(std::vector<Party> parties);
  size_t size() const { return parties_.size(); }
  // The best-scoring party whose normalised name or alias scores >=
  // threshold against the normalised query (nullopt when none; ties: the
  // party added first). An empty normalised query matches nothing.
  std::optional<ScreenMatch> Screen(std::string_view name, double threshold) const;

 private:
  struct Entry {
    std::string normalised;
    size_t party;
    size_t name_index;  // 0: the name, i: aliases[i - 1]
  };
  std::deque<Party> parties_;  // a deque keeps Party addresses stable across Add
  std::vector<Entry> entries_;
};

}  // namespace vigil::policy
