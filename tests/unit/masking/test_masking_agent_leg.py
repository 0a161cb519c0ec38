"""What an agent whose role sees numbers masked is rung with (the agent leg's caller ID, the
INVITE's From): the masked number and the number the caller dialled, never the whole number."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from pbx_stasis.crm.phones import MASKED_MARK
from pbx_stasis.masking.core import masked_leg_caller_id

CALLER, DID, VIRTUAL = "+14155550123", "+14155550100", "+14155550160"


def test_a_masked_agent_sees_the_mask_and_the_number_dialled() -> None:
    assert masked_leg_caller_id(CALLER, via=VIRTUAL) == (
        f'"+1 415 {MASKED_MARK * 4} 123" <{VIRTUAL}>')
    # No number dialled known: no number at all; a callback says whom, masked.
    assert masked_leg_caller_id(CALLER) == f'"+1 415 {MASKED_MARK * 4} 123" <>'
    assert masked_leg_caller_id("", callback=CALLER) == (
        f'"Callback to +1 415 {MASKED_MARK * 4} 123" <>')


@given(st.from_regex(r"\+[1-9][0-9]{9,13}", fullmatch=True), st.booleans())
def test_it_never_carries_the_whole_number(number: str, callback: bool) -> None:
    assume(number[1:] not in DID)  # the number dialled is the tenant's own, shown whole
    shown = masked_leg_caller_id(number, via=DID, callback=number if callback else None)
    assert number not in shown and number[1:] not in shown
