#!/usr/bin/env python3
"""Seed corpora for the lib/policy/ fuzz targets (fuzz/fuzz_policy.cc,
fuzz/fuzz_denied_parties.cc).

Usage: make_policy_seeds.py OUT_DIR
  (writes OUT_DIR/fuzz_policy/* and OUT_DIR/fuzz_denied_parties/*)
Seeds are the shipped example policy plus small files built here.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

POLICIES = {
    "minimal.toml": "version = 1\n",
    "many.toml": """version = 1
[groups]
eu = ["AT", "BE", "DE", "FR", "IT", "NL"]
embargoed = ["CU", "IR", "KP", "SY"]

[[rule]]
id = "embargo"
jurisdiction = ["embargoed", "RU"]
action = ["sell", "activate", "update", "download"]
effective = 1646092800
message = "Not available."

[[rule]]
id = "eu-grace"
jurisdiction = "eu"
action = ["update", "download"]
effect = "allow"
effective = "2024-01-01T00:00:00+01:00"
end = 2025-01-01T00:00:00.5+01:00
message = "Updates continue in the EU."
reference = "none"
""",
    "local-time.toml": """version = 1
[[rule]]
id = "x"
jurisdiction = "US"
action = "sell"
effective = 2024-07-20T00:00:00
message = "m"
""",
    "bad-end.toml": """version = 1
[[rule]]
id = "x"
jurisdiction = ["us"]
action = "sell"
effective = 2024-07-20T00:00:00Z
end = 2024-07-19T00:00:00Z
message = "m"
""",
}

CSL_HEADER = ("_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,"
              "end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,"
              "gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,"
              "dates_of_birth,nationalities,places_of_birth,source_information_url,ids\r\n")
CSL_ROWS = ('a1,Entity List (EL) - Bureau of Industry and Security,EL-1,Entity,,AO Example Software,,'
            '"1 Example Street, Moscow, 125212, RU",,,,,,,,,,,,,,,"Example Soft JSC; \u041f\u0440\u0438\u043c\u0435\u0440",'
            ',,,,,\r\n'
            'b2,Specially Designated Nationals (SDN) - Treasury Department,SDN-2,Individual,CYBER2,'
            '"IVANOVA, Anna",,"Moscow, RU",,,,,,,,,,,,,,,"Anna Ivanova",Russia,1976,Russia,,,\r\n')
OS_HEADER = ("id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,"
             "program_ids,dataset,first_seen,last_seen,last_change\n")
OS_ROWS = ('fx-1,Person,\u0415\u0432\u0433\u0435\u043d\u0438\u0439 \u041f\u0435\u0442\u0440\u043e\u0432,'
           '"Evgenii Petrov;Yevgeny Petrov",1965-10-04,ru,,,,,,,test,2024-06-12,2024-09-30,\n'
           'fx-2,Company,"M\u00fcller & S\u00f6hne GmbH",,,de,"Stra\u00dfe 1, Berlin",,,,,,test,,,\n'
           'fx-3,Company,"\u0391\u03b8\u03b7\u03bd\u03b1\u03ca\u03ba\u03ae \u0391.\u0395.",,,gr,,,,,,,test,,,\n')

LISTS = {
    "csl.csv": "\ufeff" + CSL_HEADER + CSL_ROWS,
    "opensanctions.csv": OS_HEADER + OS_ROWS,
    "quoted.csv": 'a,b\n"multi\nline","say ""hi"""\r\n,,\n',
    "short-row.csv": OS_HEADER + "fx-9,Person,Short\n",
    "names.txt": "Kaspersky, Eugene O'Brien \u0141\u00f3d\u017a \u00c6r\u00f8",
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_policy_seeds.py OUT_DIR")
    out = Path(sys.argv[1])
    pol = out / "fuzz_policy"
    lst = out / "fuzz_denied_parties"
    pol.mkdir(parents=True, exist_ok=True)
    lst.mkdir(parents=True, exist_ok=True)
    example = ROOT / "examples" / "policy" / "us-2024.toml"
    (pol / "us-2024.toml").write_bytes(example.read_bytes())
    for name, text in POLICIES.items():
        (pol / name).write_text(text, encoding="utf-8")
    for name, text in LISTS.items():
        (lst / name).write_text(text, encoding="utf-8", newline="")


if __name__ == "__main__":
    main()
