"""How fast a year's certificates are issued: 10,000 cadres whose records meet the plan, in a fresh SQLite
database, issued with their PDFs and the ZIP; and a five-year learning archive for one cadre.

Prints one JSON object (``--json``) with:
- ``certificates``: certificates issued; ``total_s``: wall time of ``cadre certificates issue`` for the year
  (records read, certificates stored and audited, PDFs rendered by ``workers`` processes and written, the
  ZIP), in a process of its own as from the CLI or a Celery worker (target: under 300 s);
  ``per_s``: certificates per second (target: at least 33);
- ``max_kb`` / ``mean_kb``: the largest and the mean certificate PDF (target: under 80 KB);
- ``peak_rss_mb``: the most resident memory the issuing process and its rendering processes held at one
  time, sampled every 0.1 s (target: under 500 MB); ``peak_pss_mb`` the same counting shared pages once;
  ``issuer_peak_rss_mb`` and ``renderer_peak_rss_mb``: the issuing process's own peak and the largest
  rendering process's (sampled too: a spawned process's ``ru_maxrss`` starts at its parent's size);
- ``reissue_s``: the same batch run again on unchanged records (nothing is issued or rendered);
- ``archive_5y_s``: one cadre's learning archive across five years, the first one a fresh process makes
  once its modules are imported (fonts and templates loaded cold; target: under 2 s), and
  ``archive_5y_warm_s`` the same archive again.
Set-up (the plan applied for five years, the cadres, their progress, reflections, posts and records as a
harvest leaves them) is timed apart (``setup_s``). ``--cadres N`` sets the year's size (the smoke test's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Only light imports here: the rendering processes are spawned, and a spawned process imports this
# module again. What the set-up and the checks need is imported inside them, as the CLI's entry point
# imports only what it runs.
from plugin_service.config import Settings  # noqa: E402

YEAR = 2026
ISSUED_ON = dt.date(YEAR, 12, 20)
ARCHIVE_CADRE = "B00001"


def _issue(settings: Settings) -> tuple[dict[str, Any], float]:
    from plugin_service.services.documents.certificates import issue_year

    started = time.perf_counter()
    result = issue_year(settings, YEAR, actor="benchmark", today=ISSUED_ON)
    return dict(result.counts), time.perf_counter() - started


def _archive(settings: Settings) -> tuple[float, float, int]:
    import plugin_service.services.documents.render  # noqa: F401  (imports are the process's, not the archive's)
    from plugin_service.services.documents.archives import archive_pdf

    started = time.perf_counter()
    archive_pdf(settings, ARCHIVE_CADRE, today=ISSUED_ON)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    size = len(archive_pdf(settings, ARCHIVE_CADRE, today=ISSUED_ON))
    return cold, time.perf_counter() - started, size


def _call(sender: Any, function: Any, args: tuple[Any, ...]) -> None:
    try:
        sender.send(function(*args))
    except BaseException as exc:  # noqa: BLE001  (handed to the parent, which raises it)
        sender.send(exc)


def _tree(root: int) -> list[int]:
    """``root`` and every process descending from it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in kB; PSS shares pages among the processes that map them."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples the memory of a process and its children together, every ``every`` seconds: what a
    batch holds at once (its own pages and its rendering processes')."""

    def __init__(self, root: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.peak_rss_kb = self.peak_pss_kb = 0
        self.root_peak_kb = self.child_peak_kb = 0  # the process's own, and its largest child's
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            sizes = {pid: _memory_kb(pid) for pid in _tree(self.root)}
            self.peak_rss_kb = max(self.peak_rss_kb, sum(rss for rss, _ in sizes.values()))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(pss for _, pss in sizes.values()))
            self.root_peak_kb = max(self.root_peak_kb, sizes.get(self.root, (0, 0))[0])
            self.child_peak_kb = max([self.child_peak_kb] + [rss for pid, (rss, _) in sizes.items()
                                                             if pid != self.root])


def in_own_process(function: Any, *args: Any) -> tuple[Any, TreeSampler]:
    """``function(*args)`` in a fresh process, as the CLI or a Celery worker runs it, and the memory
    its process tree held at its peak."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_call, args=(sender, function, args))
    process.start()
    sampler = TreeSampler(process.pid or 0)
    sampler.start()
    try:
        value = receiver.recv()
    finally:
        process.join()
        sampler.stopped.set()
        sampler.join()
    if isinstance(value, BaseException):
        raise value
    return value, sampler


def setup(database_url: str, cadres: int) -> None:
    """The year's cadres, all meeting the plan's requirements; the first of them with four years before."""
    from tests.documents.seed import ATTAINABLE, seed_year

    for year in range(YEAR - 4, YEAR):
        seed_year(database_url, year=year, cadres=1, prefix="B", tiers=ATTAINABLE)
    seed_year(database_url, year=YEAR, cadres=cadres, prefix="B", tiers=ATTAINABLE, profiles=("complete",),
              weights=(1,))


def pdf_sizes(database_url: str) -> tuple[int, float, int]:
    """(count, mean bytes, max bytes) of the year's written certificate PDFs."""
    from sqlalchemy import func, select

    from plugin_service.db import session_scope
    from plugin_service.models import Certificate

    with session_scope(database_url) as session:
        count, mean, largest = session.execute(
            select(func.count(), func.avg(Certificate.pdf_size), func.max(Certificate.pdf_size))
            .where(Certificate.year == YEAR, Certificate.pdf_sha256.is_not(None))).one()
    return int(count), float(mean or 0.0), int(largest or 0)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = f"sqlite:///{workdir / 'documents.sqlite3'}"
    workers = args.workers or os.cpu_count() or 1
    settings = Settings(database_url=database_url, documents_dir=str(workdir / "documents"),
                        secret_key="benchmark",
                        public_base_url="https://cadre.college.example", documents_workers=workers)
    out: dict[str, Any] = {"cadres": args.cadres, "workers": workers}
    started = time.perf_counter()
    in_own_process(setup, database_url, args.cadres)  # its memory stays out of the processes measured
    out["setup_s"] = round(time.perf_counter() - started, 2)

    (counts, seconds), sampled = in_own_process(_issue, settings)
    count, mean, largest = pdf_sizes(database_url)
    out.update(certificates=counts.get("issued", 0), pdfs=count, total_s=round(seconds, 2),
               per_s=round(counts.get("issued", 0) / seconds, 1) if seconds else None,
               max_kb=round(largest / 1024.0, 1), mean_kb=round(mean / 1024.0, 1),
               peak_rss_mb=round(sampled.peak_rss_kb / 1024.0, 1),
               peak_pss_mb=round(sampled.peak_pss_kb / 1024.0, 1),
               issuer_peak_rss_mb=round(sampled.root_peak_kb / 1024.0, 1),
               renderer_peak_rss_mb=round(sampled.child_peak_kb / 1024.0, 1))
    zip_path = workdir / "documents" / str(YEAR) / f"certificates-{YEAR}.zip"
    out["zip_mb"] = round(zip_path.stat().st_size / 1048576.0, 1) if zip_path.exists() else None

    (again, reissue_s), _sampled = in_own_process(_issue, settings)
    out.update(reissue_s=round(reissue_s, 2), reissue_unchanged=again.get("unchanged", 0),
               reissue_rendered=again.get("rendered", 0))

    (cold, warm, size), _sampled = in_own_process(_archive, settings)
    out.update(archive_5y_s=round(cold, 3), archive_5y_warm_s=round(warm, 3),
               archive_5y_kb=round(size / 1024.0, 1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cadres", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=0, help="rendering processes (0: one per CPU)")
    parser.add_argument("--keep", help="keep the database and the documents in this directory")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cadre-documents-") as temp:
        workdir = Path(args.keep) if args.keep else Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = run(args, workdir)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        for key, value in results.items():
            print(f"{key:22} {json.dumps(value, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
