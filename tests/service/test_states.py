import itertools

import pytest

from xihe.service.states import QUAFU_CODES, TRANSITIONS, InvalidTransition, JobStatus, check_transition

ALLOWED = {
    ("QUEUED", "RUNNING"), ("QUEUED", "CANCELLED"), ("RUNNING", "DONE"), ("RUNNING", "FAILED"),
    ("RUNNING", "CANCELLED"), ("RUNNING", "QUEUED"),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(JobStatus, JobStatus)))
def test_only_the_table_transitions_are_allowed(source: JobStatus, target: JobStatus) -> None:
    if (source.value, target.value) in ALLOWED:
        assert check_transition(source, target) is target
    else:
        with pytest.raises(InvalidTransition):
            check_transition(source, target)


def test_terminal_states_have_no_way_out() -> None:
    for status in JobStatus:
        assert status.is_terminal == (not TRANSITIONS[status])


def test_quafu_codes() -> None:
    assert [QUAFU_CODES[JobStatus(s)] for s in ("QUEUED", "RUNNING", "DONE", "CANCELLED", "FAILED")] == [0, 1, 2, 3, 4]


def test_the_service_and_the_client_share_one_status_vocabulary() -> None:
    from xihe.client.models import JOB_STATUSES, TERMINAL_STATUSES
    from xihe.status import JobStatus as SharedStatus

    assert JobStatus is SharedStatus
    assert tuple(JobStatus) == JOB_STATUSES
    assert {s for s in JobStatus if s.is_terminal} == TERMINAL_STATUSES
