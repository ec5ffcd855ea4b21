"""A year for the offline hours tests: the sample plan (with an offline cap of 10 hours, so that what is
approved shows in the totals) applied for a dozen seeded cadres whose records were computed, a school
leader who reviews two of them, and the evidence files a claim may carry."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image
from sqlalchemy import select, update

from plugin_service.config import Settings
from plugin_service.db import session_scope
from plugin_service.models import Cadre, LearningRecordRow, StoredPlan
from plugin_service.services.offline.who import ADMIN, OFFICER, REVIEWER, Actor
from plugin_service.services.read_models.page_cache import forget

from ..documents.seed import SeededYear, plan_text, recompute, seed_year
from ..rules.samples import year_offline

LEADER = "L00001"
#: Tiers whose cadres the seed places (the leaders' tier has its own school leaders: the reviewer is apart).
TIERS = ("party-admin", "teaching", "support", "section")
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] "
       b"/Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def image(kind: str, size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


@dataclass
class OfflineYear:
    seeded: SeededYear
    settings: Settings
    reviewed: tuple[str, str]  # the two cadres LEADER reviews
    officer: Actor  # of the first reviewed cadre's department
    department: str

    @property
    def database_url(self) -> str:
        return self.seeded.database_url

    def record(self, employee_no: str) -> LearningRecordRow:
        with session_scope(self.database_url) as session:
            row = session.scalar(select(LearningRecordRow).where(
                LearningRecordRow.year == 2026, LearningRecordRow.employee_no == employee_no))
            assert row is not None
            return row

    def outside(self) -> str:
        """A cadre of another department than the officer's, whom the leader does not review."""
        with session_scope(self.database_url) as session:
            found = session.scalar(select(Cadre.employee_no).where(Cadre.department != self.department,
                                                                   Cadre.employee_no.like("D%"),
                                                                   Cadre.employee_no.not_in(self.reviewed))
                                   .order_by(Cadre.employee_no))
        assert found is not None
        return found


ADMIN_ACTOR = Actor("console:admin", ADMIN)
REVIEWER_ACTOR = Actor("console:leader", REVIEWER, employee_no=LEADER)


def offline_year(database_url: str, tmp_path: Path, *, cadres: int = 12,
                 offline_max: int = 10) -> OfflineYear:
    """The seeded year whose applied plan counts ``offline_max`` offline hours (records computed again)."""
    forget()
    seeded = seed_year(database_url, cadres=cadres, tiers=TIERS)
    text = year_offline(plan_text(2026), offline_max)
    with session_scope(database_url) as session:
        stored = session.scalar(select(StoredPlan).where(StoredPlan.year == 2026))
        assert stored is not None
        stored.text, stored.sha256 = text, hashlib.sha256(text.encode()).hexdigest()
        session.add(Cadre(employee_no=LEADER, name="余校长", gender="男", department="校领导",
                          department_type="党政部门", position="副校长", rank="校级", status="在职",
                          updated_at=dt.datetime(2026, 2, 1)))
        reviewed = tuple(session.scalars(select(Cadre.employee_no).where(Cadre.employee_no.like("D%"))
                                         .order_by(Cadre.employee_no).limit(2)))
        session.execute(update(Cadre).where(Cadre.employee_no.in_(reviewed))
                        .values(supervising_leader=LEADER, updated_at=dt.datetime(2026, 2, 2)))
        department = session.scalar(select(Cadre.department).where(Cadre.employee_no == reviewed[0]))
    recompute(seeded)
    settings = Settings(database_url=database_url, documents_dir=str(tmp_path / "documents"),
                        offline_evidence_max_mb=1.0)
    assert department is not None
    officer = Actor("console:officer", OFFICER, departments=frozenset({department}))
    return OfflineYear(seeded, settings, (reviewed[0], reviewed[1]), officer, department)


def with_settings(year: OfflineYear, **values: object) -> Settings:
    return replace(year.settings, **values)  # type: ignore[arg-type]
