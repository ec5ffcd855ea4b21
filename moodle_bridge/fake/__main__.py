"""``python -m moodle_bridge.fake``: serve a fake Moodle on loopback until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import gc
import signal
import sys
import threading
from dataclasses import replace

from .costs import FAULT_KINDS, PROFILES, Faults
from .releases import DEFAULT, RELEASES
from .seed import seed_site
from .server import serve
from .stock import stock_site


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m moodle_bridge.fake",
                                     description="Serve a fake Moodle web-service site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", required=True, help="token of the service user (every function)")
    parser.add_argument("--weak-token", help="token of a user with only webservice/rest:use")
    parser.add_argument("--small-token",
                        help="token whose service holds only get_site_info and get_users_by_field")
    parser.add_argument("--sitename", default="Fake Moodle")
    parser.add_argument("--release", choices=sorted(RELEASES), default=DEFAULT,
                        help="the Moodle release to answer as")
    parser.add_argument("--seed", default=None,
                        help="'demo' (course library with template courses) or a number N: "
                             "N learners, courses, enrolments and progress, from a fixed seed")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="none",
                        help="'moodle' reproduces the costs measured on a real Moodle 5.1")
    parser.add_argument("--latency-ms", type=float, default=None, help="fixed cost of every call")
    parser.add_argument("--per-item-ms", type=float, default=None, help="cost per item carried")
    parser.add_argument("--workers", type=int, default=None, help="requests served at once")
    parser.add_argument("--contention", action=argparse.BooleanOptionalAction, default=None,
                        help="a write touching the users of another write in flight answers "
                             "dmlwriteexception, as PostgreSQL's deadlocks make Moodle do "
                             "(default: the profile's, on for 'moodle')")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of calls that fail")
    parser.add_argument("--fail-seed", type=int, default=0)
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS),
                        help=f"comma-separated subset of {','.join(FAULT_KINDS)}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tokens = {"wsbot": args.token}
    if args.weak_token:
        tokens["weak"] = args.weak_token
    if args.small_token:
        tokens["small"] = args.small_token
    site = stock_site(sitename=args.sitename, tokens=tokens, release=args.release)
    if args.seed is not None:
        summary = seed_site(site, args.seed)
        print(f"seeded: {summary}", flush=True)
        gc.freeze()  # the seeded site lives as long as the server: full collections need not walk it
    latency = PROFILES[args.profile]
    if args.latency_ms is not None:
        latency = replace(latency, per_call_ms=args.latency_ms, per_call_ms_by_function={})
    if args.per_item_ms is not None:
        latency = replace(latency, per_item_ms=args.per_item_ms, per_item_ms_by_function={})
    if args.workers is not None:
        latency = replace(latency, workers=args.workers)
    try:
        faults = Faults(rate=args.fail_rate, seed=args.fail_seed,
                        kinds=tuple(k for k in args.fault_kinds.split(",") if k))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    running = serve(site, host=args.host, port=args.port, latency=latency, faults=faults,
                    contention=args.contention)
    print(f"fake Moodle serving on {running.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
