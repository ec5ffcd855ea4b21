"""How fast a plan year is provisioned: 10,000 cadres, 40 classes, 60 courses against the fake Moodle.

Prints one JSON object (``--json``) with:
- ``first_apply_s``: wall time of ``provision.apply`` on an empty site (the demo's template library only),
  the fake answering every call after 20 ms (target: under 90 s); ``inputs_s``: checking the plan and roster;
- ``objects_written``: users + memberships + enrolments + classes + courses (+ the category) it wrote;
- ``calls`` and ``calls_per_100_objects`` (target: at most 1), split in ``read_calls`` / ``write_calls``;
- ``noop_apply_s`` / ``noop_writes``: applying the same inputs again (targets: under 15 s, no write call);
- ``peak_rss_mb``: the benchmark process's peak resident memory over both applies (the companion's side
  only: the fake runs in its own process; target: under 400 MB);
- ``moodle_profile_ratio``: the same apply at ``profile_cadres`` against the fake with Moodle's measured
  cost profile (``--profile moodle``, 4 workers): wall time over the lower bound of Moodle's own work at
  the client's write concurrency, sum over calls of the profile's cost / min(workers, concurrency),
  computed from the fake's per-function call and item counts (target: at most 1.3);
- ``phases`` / ``noop_phases`` / ``profile_phases``: per Moodle function, its calls, items (as the fake
  counted them), and the seconds from its first call to its last answer, so idle time between phases shows;
- ``contention``: true when every run's fake had contention on (as a real Moodle on PostgreSQL: a write
  touching the users of another write in flight deadlocks and answers ``dmlwriteexception``, writing
  nothing); ``dmlwriteexception`` / ``profile_dmlwriteexception``: how many calls the fake answered so in
  the full-scale applies (first and no-op) and in the profile run. Every run has contention on.
``--quick`` (the test's smoke run) serves the profile scaled down 50 times, so its ratio mostly measures the
companion's own overhead.
The plan and roster are generated (Chinese names, a college's department and rank mix) in a temp dir.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from moodle_bridge import MoodleClient  # noqa: E402
from plugin_service.config import Settings  # noqa: E402
from plugin_service.db import upgrade  # noqa: E402
from plugin_service.services.provisioning.provision import ApplyResult, Inputs, apply, check_inputs  # noqa: E402

YEAR = 2026
TOKEN_BYTES = 16
SIGNATURES = ROOT / "moodle_bridge" / "fake" / "data" / "signatures.json"

# -- the scenario -----------------------------------------------------------------------------------

PARTY = ["党委办公室", "校长办公室", "党委组织部", "党委宣传部", "纪检监察室", "人事处", "财务处", "教务处",
         "科研处", "学生工作处", "招生就业处", "国际交流合作处", "资产管理处", "审计处", "保卫处",
         "发展规划处", "工会", "团委", "离退休工作处", "质量管理办公室"]
TEACHING = ["机电工程学院", "信息技术学院", "商学院", "会计学院", "艺术设计学院", "旅游管理学院",
            "国际教育学院", "继续教育学院", "马克思主义学院", "建筑工程学院", "汽车工程学院", "护理学院",
            "外国语学院", "基础教学部", "体育教学部"]
SUPPORT = ["图书馆", "信息与网络中心", "后勤管理处", "实训中心", "档案馆", "高等职业教育研究所", "校医院",
           "分析测试中心"]
TYPES = {"党政部门": PARTY, "教学部门": TEACHING, "教辅部门": SUPPORT}
# Teaching colleges are the big ones; weights are relative department sizes.
WEIGHTS = {"党政部门": 2, "教学部门": 5, "教辅部门": 2}
POSITIONS = {
    "党政部门": {"正处级": "处长", "副处级": "副处长", "正科级": "科长", "副科级": "副科长"},
    "教学部门": {"正处级": "院长", "副处级": "副院长", "正科级": "科长", "副科级": "副科长"},
    "教辅部门": {"正处级": "主任", "副处级": "副主任", "正科级": "科长", "副科级": "副科长"},
}
RANK_MIX = [("正处级", 10), ("副处级", 20), ("正科级", 30), ("副科级", 40)]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
                "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
                "邵万钱严覃武戴莫孔向汤")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬婷鹏辉宇浩凯健俊帆"
             "琳晨瑶欣佳雪梅海波宁博文斌鑫亮林峰")
TEMPLATES = ["TPL-THOUGHT", "TPL-INTEGRITY", "TPL-POLICY", "TPL-TEACHING-REFORM", "TPL-GOVERNANCE",
             "TPL-DIGITAL", "TPL-EMERGENCY", "TPL-WRITING", "TPL-HEALTH", "TPL-ETHICS"]
TOPICS = ["理论学习", "党性修养", "依法治校", "专业建设", "课程思政", "质量保障", "安全管理", "财务实务",
          "信息素养", "沟通协调", "团队建设", "公文写作", "心理调适", "国际视野", "产教融合", "创新创业",
          "数据治理", "风险防控", "廉洁自律", "服务育人"]
TIERS = [
    ("leaders", "校领导", "{rank: [校级]}", None),
    ("party-admin", "党政部门中层干部", "{department_type: 党政部门, rank: [正处级, 副处级]}", PARTY),
    ("teaching", "教学部门中层干部", "{department_type: 教学部门, rank: [正处级, 副处级]}", TEACHING),
    ("support", "教辅部门中层干部", "{department_type: 教辅部门, rank: [正处级, 副处级]}", SUPPORT),
    ("section-party", "党政部门科级干部", "{department_type: 党政部门, rank: [正科级, 副科级]}", PARTY),
    ("section-teaching", "教学部门科级干部", "{department_type: 教学部门, rank: [正科级, 副科级]}", TEACHING),
    ("section-support", "教辅部门科级干部", "{department_type: 教辅部门, rank: [正科级, 副科级]}", SUPPORT),
]
# Classes per tier (40 in all): each splits its tier's departments into groups, matched on department.
CLASSES_PER_TIER = {"leaders": 1, "party-admin": 4, "teaching": 3, "support": 2, "section-party": 10,
                    "section-teaching": 15, "section-support": 5}


def make_roster(cadres: int, seed: int = 2026, *, leaders: int | None = None,
                number: Callable[[int], str] = lambda n: f"T{100000 + n:06d}",
                rank_mix: Sequence[tuple[str, int]] = RANK_MIX) -> bytes:
    """A roster of ``cadres`` rows: school leaders (``leaders``, by default one per 500 cadres, 3 to 30),
    then middle-level and section-level cadres; the ``n``-th row's employee number is ``number(n)``.
    Every department is supervised by a leader other than the first."""
    rng = random.Random(seed)
    leaders = max(3, min(30, cadres // 500)) if leaders is None else max(2, min(leaders, cadres - 1))
    departments = [(name, kind) for kind, names in TYPES.items() for name in names]
    weights = [WEIGHTS[kind] * rng.uniform(0.6, 1.4) for _, kind in departments]
    leader_nos = [number(n) for n in range(leaders)]
    supervisor = {name: leader_nos[1 + index % (leaders - 1)] for index, (name, _) in enumerate(departments)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["工号", "姓名", "性别", "部门", "部门类别", "职务", "职级", "邮箱", "手机", "在职状态",
                     "分管校领导工号"])
    leader_titles = ["党委书记", "校长", "党委副书记", "副校长"]
    mobiles: set[str] = set()

    def person() -> tuple[str, str, str]:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        while True:
            mobile = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            if mobile not in mobiles:
                mobiles.add(mobile)
                break
        return name, rng.choice("男男女"), mobile

    for index, leader in enumerate(leader_nos):
        name, gender, mobile = person()
        writer.writerow([leader, name, gender, "校领导", "党政部门", leader_titles[min(index, 3)], "校级",
                         f"{leader.lower()}@college.example", mobile, "在职", ""])
    ranks, rank_weights = zip(*rank_mix, strict=True)
    for n in range(leaders, cadres):
        department, kind = rng.choices(departments, weights)[0]
        rank = rng.choices(ranks, rank_weights)[0]
        status = rng.choices(["在职", "离岗", "离职"], [97, 2, 1])[0]
        name, gender, mobile = person()
        writer.writerow([number(n), name, gender, department, kind, POSITIONS[kind][rank], rank,
                         f"{number(n).lower()}@college.example", mobile, status, supervisor[department]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _groups(items: list[str], count: int) -> list[list[str]]:
    size, extra = divmod(len(items), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(items[start:end])
        start = end
    return groups


def make_plan(courses: int = 60) -> str:
    """A plan with 7 tiers, 40 classes (matched on department) and ``courses`` courses.

    Every tier has two courses required of all, one elective for all, and its own required and elective
    courses; all but every eighth course copy one of the demo's template courses (several share one).
    """
    tier_keys = [key for key, *_ in TIERS]
    lines = [f"year: {YEAR}", f"title: {YEAR} 年度干部在线学习计划（基准）",
             "organisation: 中共示范职业技术学院委员会组织部",
             f"period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}",
             f"moodle: {{category: {YEAR} 干部在线学习（基准）,",
             "          learner_role: student, reviewer_role: teacher}",
             "hours: {target: 50, required_min: 30, elective_max: 24}", "tiers:"]
    for key, name, match, _ in TIERS:
        lines.append(f"  - {{key: {key}, name: {name}, match: {match}}}")
    lines += ["excluded: {match: {status: [离岗, 离职]}}", "classes:"]
    for key, name, _, departments in TIERS:
        count = CLASSES_PER_TIER[key]
        if departments is None:
            lines.append(f"  - {{key: {key}, tier: {key}, name: {YEAR} {name}班}}")
            continue
        for index, group in enumerate(_groups(departments, count)):
            lines.append(f"  - {{key: {key}-{index + 1:02d}, tier: {key}, name: {YEAR} {name}{index + 1}班, "
                         f"match: {{department: [{', '.join(group)}]}}}}")
    lines.append("courses:")
    specs: list[tuple[str, str, float, str]] = [
        ("thought", "习近平新时代中国特色社会主义思想专题学习", 10, "required: all"),
        ("integrity", "党风廉政建设与警示教育", 6, "required: all"),
        ("ethics", "职业道德与师德师风建设", 4, "elective: all"),
    ]
    own = courses - len(specs)
    for index in range(own):
        tier = tier_keys[index % len(tier_keys)]
        rank = index // len(tier_keys)  # the first three of each tier are required
        topic = TOPICS[index % len(TOPICS)]
        if rank < 3:
            specs.append((f"{tier}-r{rank + 1}", f"{topic}专题（{tier}）", 6, f"required: [{tier}]"))
        else:
            specs.append((f"{tier}-e{rank - 2}", f"{topic}选修（{tier}）", 4, f"elective: [{tier}]"))
    for index, (key, name, hours, who) in enumerate(specs):
        template = "" if index % 8 == 7 else f", template: {TEMPLATES[index % len(TEMPLATES)]}"
        lines.append(f"  - {{key: {key}, name: {name}, hours: {hours:g}, {who}{template}}}")
    lines += ["reviewers: {by: supervising_leader, fallback: T100000}", ""]
    return "\n".join(lines)


# -- the fake Moodle in its own process ------------------------------------------------------------

@dataclass
class Fake:
    url: str
    token: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/_fake/stats", timeout=60)
        result: dict[str, Any] = answer.json()
        return result

    def reset_stats(self) -> None:
        requests.post(f"{self.url}/_fake/reset_stats", json={}, timeout=60)


@contextmanager
def fake_moodle(args: list[str], *, serve_self: bool = False) -> Iterator[Fake]:
    """Starts the fake (``python -m moodle_bridge.fake ARGS``, or this script's own ``--serve-fake``)."""
    token = secrets.token_hex(TOKEN_BYTES)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    program = [str(Path(__file__).resolve()), "--serve-fake"] if serve_self else ["-m", "moodle_bridge.fake"]
    command = [sys.executable, *program, "--port", str(port), "--token", token, *args]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, cwd=ROOT)
        try:
            while True:
                try:
                    requests.get(url, timeout=1)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        errors.seek(0)
                        raise SystemExit("the fake Moodle did not start:\n"
                                         + errors.read().decode("utf-8", "replace")[-2000:]) from None
                    time.sleep(0.05)
            yield Fake(url, token, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def serve_fake(argv: list[str]) -> int:
    """``--serve-fake``: the fake with Moodle's profile scaled by ``--scale`` (for quick runs only)."""
    from moodle_bridge.fake import MOODLE_PROFILE, serve, stock_site
    from moodle_bridge.fake.seed import seed_course_library

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    site = stock_site(tokens={"wsbot": args.token})
    seed_course_library(site)
    running = serve(site, port=args.port, latency=scaled(MOODLE_PROFILE, args.scale), contention=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with suppress(KeyboardInterrupt):
        stop.wait()
    running.stop()
    return 0


def scaled(latency: Any, scale: float) -> Any:
    from dataclasses import replace

    if scale == 1.0:
        return latency
    return replace(latency, per_call_ms=latency.per_call_ms * scale, per_item_ms=latency.per_item_ms * scale,
                   per_item_ms_by_function={k: v * scale for k, v in latency.per_item_ms_by_function.items()},
                   per_call_ms_by_function={k: v * scale for k, v in latency.per_call_ms_by_function.items()})


# -- measuring ---------------------------------------------------------------------------------------

@dataclass
class CallLog:
    """Every call the client makes: function, write or read, start and end (perf_counter)."""

    calls: list[tuple[str, bool, float, float]] = field(default_factory=list)

    def attach(self, client: MoodleClient) -> None:
        original = client.call

        def timed(wsfunction: str, params: Any = None, *, write: bool) -> Any:
            started = time.perf_counter()
            try:
                return original(wsfunction, params, write=write)
            finally:
                self.calls.append((wsfunction, write, started, time.perf_counter()))

        client.call = timed  # type: ignore[method-assign]

    def phases(self, origin: float, items: dict[str, int]) -> dict[str, dict[str, Any]]:
        spans: dict[str, list[float]] = {}
        counts: dict[str, int] = defaultdict(int)
        for wsfunction, _write, start, end in self.calls:
            span = spans.setdefault(wsfunction, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
            counts[wsfunction] += 1
        ordered = sorted(spans.items(), key=lambda item: item[1][0])
        return {name: {"calls": counts[name], "items": items.get(name, 0),
                       "from_s": round(start - origin, 2), "seconds": round(end - start, 2)}
                for name, (start, end) in ordered}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


def write_functions() -> set[str]:
    data = json.loads(SIGNATURES.read_text("utf-8"))
    return {name for name, spec in data["functions"].items() if spec.get("type") == "write"}


def settings_for(url: str, token: str, database_url: str, batch_size: int, workers: int) -> Settings:
    upgrade(database_url)
    return Settings(moodle_url=url, moodle_token=token, database_url=database_url, secret_key="benchmark",
                    moodle_batch_size=batch_size, moodle_max_workers=workers)


@dataclass
class Run:
    result: ApplyResult
    seconds: float
    log: CallLog
    stats: dict[str, Any]
    started: float


def run_apply(fake: Fake, inputs: Inputs, settings: Settings, *, batch_size: int, workers: int) -> Run:
    fake.reset_stats()
    log = CallLog()
    with MoodleClient(fake.url, fake.token, batch_size=batch_size, max_workers=workers,
                      timeout=600) as client:
        log.attach(client)
        started = time.perf_counter()
        result = apply(client, inputs, settings, actor="benchmark")
        seconds = time.perf_counter() - started
    return Run(result, seconds, log, fake.stats(), started)


def objects_of(result: ApplyResult) -> dict[str, int]:
    return dict(result.counts)


def profile_lower_bound(stats: dict[str, Any], latency: Any, concurrency: int) -> float:
    """Moodle's own work for the calls the fake served, spread over min(workers, concurrency) workers."""
    work = sum(latency.seconds(name, 0) * calls for name, calls in stats["calls"].items())
    for name, items in stats["items"].items():
        work += latency.seconds(name, items) - latency.seconds(name, 0)
    return work / max(1, min(latency.workers or concurrency, concurrency))


# -- the benchmark --------------------------------------------------------------------------------

def full_scale(args: argparse.Namespace, workdir: Path, writes: set[str]) -> dict[str, Any]:
    roster = make_roster(args.cadres)
    plan = make_plan(args.courses)
    (workdir / "roster.csv").write_bytes(roster)
    (workdir / "plan.yaml").write_text(plan, "utf-8")
    started = time.perf_counter()
    inputs = check_inputs(plan, "plan.yaml", roster, "roster.csv")
    inputs_s = time.perf_counter() - started
    out: dict[str, Any] = {"cadres": args.cadres, "classes": len(inputs.plan.classes),
                           "courses": len(inputs.plan.courses), "latency_ms": args.latency_ms,
                           "batch_size": args.batch_size, "workers": args.workers,
                           "inputs_s": round(inputs_s, 2)}
    fake_args = ["--seed", "demo", "--latency-ms", str(args.latency_ms), "--contention"]
    with fake_moodle(fake_args) as fake:
        settings = settings_for(fake.url, fake.token, f"sqlite:///{workdir / 'full.sqlite3'}",
                                args.batch_size, args.workers)
        first = run_apply(fake, inputs, settings, batch_size=args.batch_size, workers=args.workers)
        noop = run_apply(fake, inputs, settings, batch_size=args.batch_size, workers=args.workers)
    counts = objects_of(first.result)
    written = sum(counts.values())
    first_writes = sum(calls for name, calls in first.stats["calls"].items() if name in writes)
    noop_writes = sum(calls for name, calls in noop.stats["calls"].items() if name in writes)
    out.update({
        "first_apply_s": round(first.seconds, 2),
        "objects_written": written,
        "objects": counts,
        "calls": first.result.calls,
        "read_calls": first.result.calls - first_writes,
        "write_calls": first_writes,
        "calls_per_100_objects": round(100.0 * first.result.calls / max(1, written), 3),
        "noop_apply_s": round(noop.seconds, 2),
        "noop_calls": noop.result.calls,
        "noop_writes": noop_writes,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "phases": first.log.phases(first.started, first.stats["items"]),
        "noop_phases": noop.log.phases(noop.started, noop.stats["items"]),
        "contention": bool(first.stats.get("contention") and noop.stats.get("contention")),
        "dmlwriteexception": int(first.stats.get("dmlwriteexception", 0))
        + int(noop.stats.get("dmlwriteexception", 0)),
    })
    return out


def profiled(args: argparse.Namespace, workdir: Path, writes: set[str]) -> dict[str, Any]:
    from moodle_bridge.fake.costs import MOODLE_PROFILE

    roster = make_roster(args.profile_cadres, seed=2027)
    plan = make_plan(args.courses)
    inputs = check_inputs(plan, "plan.yaml", roster, "roster.csv")
    latency = scaled(MOODLE_PROFILE, args.profile_scale)
    workers = min(args.workers, latency.workers or args.workers)
    if args.profile_scale == 1.0:  # the moodle profile has contention on; said again to be sure
        context = fake_moodle(["--seed", "demo", "--profile", "moodle", "--contention"])
    else:
        context = fake_moodle(["--scale", str(args.profile_scale)], serve_self=True)
    with context as fake:
        settings = settings_for(fake.url, fake.token, f"sqlite:///{workdir / 'profile.sqlite3'}",
                                args.batch_size, workers)
        run = run_apply(fake, inputs, settings, batch_size=args.batch_size, workers=workers)
    bound = profile_lower_bound(run.stats, latency, workers)
    written = sum(objects_of(run.result).values())
    return {
        "profile_cadres": args.profile_cadres,
        "profile_scale": args.profile_scale,
        "profile_workers": latency.workers,
        "profile_concurrency": workers,
        "profile_apply_s": round(run.seconds, 2),
        "profile_lower_bound_s": round(bound, 2),
        "moodle_profile_ratio": round(run.seconds / bound, 3) if bound else None,
        "profile_objects_written": written,
        "profile_calls": run.result.calls,
        "profile_write_calls": sum(c for name, c in run.stats["calls"].items() if name in writes),
        "profile_phases": run.log.phases(run.started, run.stats["items"]),
        "profile_contention": bool(run.stats.get("contention")),
        "profile_dmlwriteexception": int(run.stats.get("dmlwriteexception", 0)),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-fake"]:
        return serve_fake(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cadres", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4, help="the client's pool (write concurrency)")
    parser.add_argument("--profile-cadres", type=int, default=2_000,
                        help="scale of the run against Moodle's cost profile (0: skip it)")
    parser.add_argument("--profile-scale", type=float, default=1.0,
                        help="multiply the profile's costs (below 1 for quick runs; 1 is Moodle's)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: the profile run at the same scale with costs scaled by 0.02")
    parser.add_argument("--keep", help="keep the generated plan, roster and databases in this directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.profile_cadres = min(args.profile_cadres, args.cadres)
        args.profile_scale = min(args.profile_scale, 0.02)
    writes = write_functions()
    with tempfile.TemporaryDirectory(prefix="cadre-bench-") as temp:
        workdir = Path(args.keep) if args.keep else Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = full_scale(args, workdir, writes)
        if args.profile_cadres > 0:
            results.update(profiled(args, workdir, writes))
            results["contention"] = results["contention"] and results.pop("profile_contention")
        else:
            results["moodle_profile_ratio"] = None
    emit(results, as_json=args.json)
    return 0


def emit(results: dict[str, Any], *, as_json: bool) -> None:
    """One JSON object (``--json``), or a line a key."""
    if as_json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        for key, value in results.items():
            print(f"{key:26} {json.dumps(value, ensure_ascii=False)}")


if __name__ == "__main__":
    sys.exit(main())
