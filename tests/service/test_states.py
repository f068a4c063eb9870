import itertools

import pytest

from xihe.service.states import TRANSITIONS, InvalidTransition, JobStatus, check_transition

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
    assert [JobStatus(s).quafu_code for s in ("QUEUED", "RUNNING", "DONE", "CANCELLED", "FAILED")] == [0, 1, 2, 3, 4]
