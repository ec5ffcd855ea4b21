"""Clients the integration tests act through besides the service user's: learners' and a weak one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.fake import RunningFake
from tests.conftest import WEAK_TOKEN
from tests.factories import learner


@pytest.fixture
def learner_client(fake: RunningFake) -> Iterator[Callable[[int], MoodleClient]]:
    """A factory of clients acting with a user's own token, all closed after the test."""
    made: list[MoodleClient] = []

    def make(userid: int) -> MoodleClient:
        made.append(learner(fake, userid))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def weak_client(fake: RunningFake) -> Iterator[MoodleClient]:
    """A client with the ``weak`` token: only ``webservice/rest:use``."""
    with MoodleClient(fake.url, WEAK_TOKEN, timeout=10, retries=0) as client:
        yield client
