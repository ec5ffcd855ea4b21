"""What every area shares: the client it calls through, Moodle's ``warnings``, and how lists travel.

Moodle takes long lists in several calls and returns long answers in pages; every area cuts, sends,
merges and pages the same way, so a caller can rely on one rule: lists go in chunks of ``batch_size``,
answers come back merged in order, paged reads never stop before the last page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ..errors import MoodleError
from ..results import parse_list

if TYPE_CHECKING:
    from ..client import MoodleClient

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class MoodleWarning:
    """One entry of a ``warnings`` array: a partial failure the caller must see.

    Cohort functions send only ``warningcode`` and ``message`` (codes "1" unsupported type, "2" does not
    exist, "3" already a member); the others add ``item`` and ``itemid``.
    """

    warningcode: str
    message: str
    item: str | None = None
    itemid: int | None = None


@dataclass(frozen=True)
class WriteResult:
    """The answer of a write that returns nothing but ``warnings`` (or ``null``)."""

    warnings: tuple[MoodleWarning, ...] = ()


def warnings_of(data: Any, wsfunction: str) -> tuple[MoodleWarning, ...]:
    """Reads the ``warnings`` of an answer; ``null`` and answers without them give none."""
    if isinstance(data, dict) and data.get("warnings"):
        return tuple(parse_list(MoodleWarning, data["warnings"], wsfunction, "warnings"))
    return ()


# --- records sent to Moodle -----------------------------------------------------------------------------

def name_values(key: str, *, param: str | None = None) -> dict[str, str]:
    """Field metadata: a mapping sent as Moodle's list of ``{key: name, "value": value}`` entries."""
    return {"pairs": key, "param": param} if param else {"pairs": key}


def renamed(param: str) -> dict[str, str]:
    """Field metadata: the field travels under another parameter name."""
    return {"param": param}


def record_params(record: Any, *, first: Sequence[str] = ()) -> dict[str, Any]:
    """A dataclass as one item of a Moodle list parameter: fields in declaration order (``first``
    before the others), ``None`` and empty mappings left out (Moodle then keeps or defaults them),
    nested dataclasses as nested structures."""
    specs = {spec.name: spec for spec in dataclasses.fields(record)}
    out: dict[str, Any] = {}
    for name in [*first, *(name for name in specs if name not in first)]:
        spec, value = specs[name], getattr(record, name)
        if value is None:
            continue
        key = spec.metadata.get("param") or name
        pairs = spec.metadata.get("pairs")
        if pairs is not None:
            if value:
                out[key] = [{pairs: item, "value": item_value} for item, item_value in value.items()]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[key] = record_params(value)
        else:
            out[key] = value
    return out


def options(**values: Any) -> list[dict[str, Any]]:
    """The values given (not ``None``) as Moodle's ``options`` list of ``{name, value}`` entries."""
    return [{"name": name, "value": value} for name, value in values.items() if value is not None]


def unique_by(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The items, each key's first one only, in order: what a merged or re-read list keeps."""
    seen: set[Hashable] = set()
    kept: list[T] = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


# --- paged reads ----------------------------------------------------------------------------------------

class Page(NamedTuple, Generic[T]):
    """One page of a paged read, and the total the function reports when it reports one."""

    items: Sequence[T]
    total: int | None = None


def iter_pages(fetch: Callable[[int], Page[T]], size: int, *, name: str = "perpage", by_offset: bool = False,
               key: Callable[[T], Hashable] | None = None, short_page_ends: bool = True) -> Iterator[T]:
    """Every item of a paged read, asking for page 0, 1, 2... (or offset 0, n, 2n... ``by_offset``).

    It stops at an empty page, at a page shorter than ``size`` (unless Moodle is known to cut pages
    shorter, ``short_page_ends=False``) or once the reported total is reached, never earlier: a full
    last page costs one more call. ``key`` drops an item already yielded (the list changed meanwhile).
    """
    if size < 1:
        raise ValueError(f"{name} must be at least 1")
    position = 0
    seen: set[Hashable] = set()
    count = 0
    while True:
        page = fetch(position)
        for item in page.items:
            if key is not None:
                if key(item) in seen:
                    continue
                seen.add(key(item))
            count += 1
            yield item
        if not page.items or (short_page_ends and len(page.items) < size):
            return
        if page.total is not None and count >= page.total:
            return
        position += len(page.items) if by_offset else 1


class Area:
    """A group of web-service functions named after one Moodle component."""

    def __init__(self, client: MoodleClient) -> None:
        self._client = client

    def _read(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._client.call(wsfunction, params, write=False)

    def _write(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._client.call(wsfunction, params, write=True)

    def _set(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        """A write that sets a state whole (the same call twice leaves the same state): repeated on a
        transient failure as a read is."""
        return self._client.call(wsfunction, params, write=False)

    def _batched(self, wsfunction: str, items: Sequence[T], params: Callable[[list[T]], Mapping[str, Any]],
                 parse: Callable[[Any], Iterable[R]] | None = None, *, write: bool, parallel: bool = False,
                 note: Callable[[list[T], list[R], list[T]], str | None] | None = None) -> list[R]:
        """Calls ``wsfunction`` once per chunk of ``batch_size`` items; the parsed answers, merged in order.

        ``parallel`` sends the chunks at once on the client's pool (the first error is raised after every
        chunk finished). Otherwise a failing call stops the rest, and ``note(items written, results so far,
        items of the failing call)`` may add a note to its error: earlier chunks stay written.
        """
        def send(chunk: Sequence[T]) -> list[R]:
            call = self._write if write else self._read
            data = call(wsfunction, params(list(chunk)))
            return list(parse(data)) if parse is not None else []

        chunks = list(self._client.batches(items))
        if parallel:
            return [result for part in self._client.fan_out(send, chunks) for result in part]
        done: list[T] = []
        results: list[R] = []
        for chunk in chunks:
            try:
                results.extend(send(chunk))
            except MoodleError as exc:
                text = note(done, results, list(chunk)) if note is not None else None
                if text:
                    exc.add_note(text)
                raise
            done.extend(chunk)
        return results
