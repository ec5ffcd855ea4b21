"""Every scenario recorded on a real Moodle, replayed against the fake answering as the same release, gives
the same outcome: the 5.1 scenarios against the fake as 5.1 (its default), the 4.5 ones against it as 4.5,
the product's own calls (``<release>/product.json``) included; and every function the product requires has
a successful recorded call on both releases.

The recordings are part of the repository (``recordings/``, see its README); nothing is read from beside
the clone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin_service.moodle_requirements import REQUIREMENTS

from .replay import RECORDINGS, RELEASES, product_file, run, scenario_files

# (scenario step, path) -> why the fake cannot answer exactly as the recording site did. The 4.5 scenarios
# are the same steps recorded on a 4.5 site, and differ from the fake for the same reasons (that site was
# fresher: its cohort and user searches match; its service and report differ as the 5.1 site's did).
DEVIATIONS: dict[tuple[str, str], str] = {
    ("auth_errors s1", "functions[]"): "the recording site's service held every function of the site "
    "(hundreds); the fake's service holds the functions the fake implements",
    ("auth_errors s13", "functions[]"): "same as s1, for the weak token's service",
    ("users s16", "users[]"): "the recording site already held users from earlier runs; the fake "
    "starts fresh, so a search over all users finds fewer",
    ("users s16", "users[1].lastname"): "the second user found is another one for the same reason",
    ("users s17", "users[]"): "same as s16",
    ("cohorts s11", "cohorts[]"): "the recording site already held cohorts from earlier runs",
    ("cohorts s12", "cohorts[]"): "same as s11",
    ("cohorts s14", "[]"): "same as s11: all cohorts of the site",
    ("reportbuilder s11", "data.rows[]"): "the report lists every enrolment of the site; the recording "
    "site already held other scenarios' courses (58 rows), a fresh fake holds this scenario's",
    ("reportbuilder s12", "data.rows[]"): "same as s11",
    # The product's own calls (product.json), excused for every call of the function in the scenario:
    ("product core_webservice_get_site_info", "functions[]"): "the recording sites' service holds every "
    "function of the site; the fake's holds the functions the fake implements",
    ("product core_course_get_contents", "[]"): "the recording sites' template courses were made by a "
    "script that left out numsections: a General section and the one holding the activities; the fake's "
    "have the default four sections besides General",
}

pytestmark = pytest.mark.contract


@pytest.mark.parametrize("path", scenario_files("5.1"), ids=lambda p: p.stem)
def test_scenario_replays_against_the_fake(path: Path) -> None:
    problems = run(path, DEVIATIONS, "5.1")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", scenario_files("4.5"), ids=lambda p: p.stem)
def test_a_4_5_scenario_replays_against_the_fake_as_4_5(path: Path) -> None:
    problems = run(path, DEVIATIONS, "4.5")
    assert not problems, "\n".join(problems)


def test_the_recordings_are_there() -> None:
    """In the repository itself: 13 scenarios per release, the 5.1 single calls, both signatures."""
    assert len(scenario_files("5.1")) >= 13, "tests/contract/recordings/5.1/scenarios is missing"
    assert len(scenario_files("4.5")) >= 13, "tests/contract/recordings/4.5/scenarios is missing"
    assert len(list((RECORDINGS / "5.1" / "single-calls").glob("*.json"))) >= 200
    for release in ("5.1", "4.5"):
        for name in ("signatures.json", "functions.txt"):
            assert (RECORDINGS / release / name).is_file(), f"{release}/{name} is missing"
    assert RECORDINGS.resolve().is_relative_to(Path(__file__).resolve().parents[2]), "outside the clone"


@pytest.mark.parametrize("release", RELEASES)
def test_every_function_the_product_needs_was_recorded_answering(release: str) -> None:
    """``<release>/product.json`` holds a successful call of every function ``REQUIREMENTS`` lists,
    sent as the product sends it: a function added there without recording it fails here."""
    path = product_file(release)
    assert path.is_file(), f"{release}/product.json is missing"
    steps = json.loads(path.read_text("utf-8"))["steps"]
    answered = {step["function"] for step in steps if step.get("function") and step["http_status"] == 200
                and not (isinstance(step["response"], dict) and "exception" in step["response"])}
    missing = [r.function for r in REQUIREMENTS if r.function not in answered]
    assert not missing, (f"no successful call of {', '.join(missing)} was recorded on {release}: record it "
                         f"(python -m tests.contract.record_product --version {release})")
