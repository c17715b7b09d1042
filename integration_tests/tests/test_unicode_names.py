"""Event names keep the letters, marks and digits of every script (SPEC §2).

The definition, written here from the SPEC and computed with Python's unicodedata:
lower-case (Unicode), then every run of characters whose general category is not
L* (letter), M* (combining mark) or N* (number) becomes `_`, leading and trailing `_`
are removed, and an empty result is null. No normalisation form is applied, so a
composed and a decomposed `é` stay different names.

The names avoid the two places where engines' lower-case differs (documented in the
README): `İ` (U+0130), and a capital sigma at the end of a word (Greek final sigma).
"""

import re
import unicodedata

import pytest
from harness import PER_USER_MARTS_SELECTION, Dataset, event, milestone, requirement, user

STAGING = "main_activation_staging"


def normalise(raw):
    """SPEC §2 name normalisation."""
    if raw is None:
        return None
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else "_" for c in raw.strip().lower())
    return re.sub("_+", "_", kept).strip("_") or None


# (milestone id, name as the events write it, name as the milestone configuration writes it)
NAMES = [
    ("latin_accents", "Café Opened", "CAFÉ-OPENED"),
    ("latin_decomposed", "Cafe\u0301 Closed", "  cafe\u0301_closed "),
    ("cjk", "検索", " 検索!"),
    ("cyrillic", "Поиск Документа", "ПОИСК_ДОКУМЕНТА"),
    ("greek", "Αναζήτηση Εγγράφου", "αναζήτηση εγγράφου"),
    ("arabic_digits", "حدث ١٢٣", "حدث_١٢٣"),
    ("devanagari", "हिन्दी खोज", "हिन्दी-खोज"),
    ("hangul", "한국어 검색", "한국어_검색"),
    ("emoji", "🚀 Launch!!", "launch"),
    ("fullwidth", "Plan ＡＢ１２", "PLAN ａｂ１２"),
    ("case_only", "ÉTÉ Report", "été report"),
]
# Names of a requirement-based milestone: two scripts, one with a minimum count.
REQUIREMENTS = [("composite", "検索", 2), ("composite", "ХОРОШО Ёж", 1)]
COMPOSITE_EVENTS = ["検索", "хорошо ёж"]
# Only separators: no name at all.
NAMELESS = "🚀 !! ✨"


@pytest.fixture(scope="module")
def built(dbt_builder):
    users = [user("u1", "2025-01-01 00:00:00")]
    events = [event("u1", raw, f"2025-01-02 {i:02d}:00:00", f"e{i}")
              for i, (_, raw, _) in enumerate(NAMES)]
    events += [event("u1", raw, f"2025-01-03 {i:02d}:00:00", f"c{i}")
               for i, raw in enumerate(COMPOSITE_EVENTS)]
    events.append(event("u1", NAMELESS, "2025-01-04 00:00:00", "nameless"))
    milestones = [milestone(mid, level, triggered_by_event=configured)
                  for level, (mid, _, configured) in enumerate(NAMES, start=1)]
    milestones.append(milestone("composite", len(NAMES) + 1))
    requirements = [requirement(mid, name, min_count=count) for mid, name, count in REQUIREMENTS]
    marts = dbt_builder.build(Dataset(users, events, milestones, requirements), select=PER_USER_MARTS_SELECTION)
    staged = dbt_builder.query(
        f"select event_id, event_name_raw, event_name from {STAGING}.stg_activation__events")
    configured = dbt_builder.query(
        f"select milestone_id, triggered_by_event from {STAGING}.stg_activation__milestones")
    required = dbt_builder.query(
        f"select milestone_id, event_name from {STAGING}.stg_activation__milestone_requirements")
    return marts, staged, configured, required


def test_definition_examples():
    """The definition itself, on the SPEC's examples."""
    assert normalise("Document Created") == "document_created"
    assert normalise("Café Opened") == "café_opened"
    assert normalise("検索") == "検索"
    assert normalise("हिन्दी") == "हिन्दी"
    assert normalise("🚀 Launch!!") == "launch"
    assert normalise("__a__b__") == "a_b"
    assert normalise(NAMELESS) is None
    assert normalise("Café") != normalise("Cafe\u0301")


def test_event_names_are_normalised_by_the_definition(built):
    _, staged, _, _ = built
    assert staged, "no staged events"
    for row in staged:
        assert row["event_name"] == normalise(row["event_name_raw"]), row


def test_configured_names_are_normalised_by_the_definition(built):
    _, _, configured, required = built
    triggers = {row["milestone_id"]: row["triggered_by_event"] for row in configured}
    for mid, _, raw in NAMES:
        assert triggers[mid] == normalise(raw), mid
    assert sorted(row["event_name"] for row in required) == sorted(
        normalise(name) for _, name, _ in REQUIREMENTS)


def test_composed_and_decomposed_accents_stay_different(built):
    _, staged, _, _ = built
    names = {row["event_name_raw"]: row["event_name"] for row in staged}
    assert names["Café Opened"] == "café_opened"
    assert names["Cafe\u0301 Closed"] == "cafe\u0301_closed"


def test_every_unicode_milestone_is_reached(built):
    marts, _, _, _ = built
    reached = {row["milestone_id"] for row in marts["user_milestones"]
               if row["user_id"] == "u1" and row["reached_at"] is not None}
    assert reached == {mid for mid, _, _ in NAMES} | {"composite"}


def test_only_the_nameless_event_is_quarantined(built):
    marts, _, _, _ = built
    quarantined = [(row["event_id"], row["quarantine_reason"]) for row in marts["quarantined_events"]]
    assert quarantined == [("nameless", "missing_event_name")]
