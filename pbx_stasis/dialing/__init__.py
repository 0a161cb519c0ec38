"""Outside calls: which numbers a tenant may dial and who may dial them (the dialling policy).

`policy.py` decides (pure), `policy_store.py` stores the tenants' policies and journals refusals,
`http.py` and `cli.py` let an admin read and set them. The trunk (transfer.outside.TrunkLine)
checks every outside number here before it dials.
"""

from __future__ import annotations

from pbx_stasis.dialing.errors import DialError, DialRefused, PhoneNotRegistered
from pbx_stasis.dialing.policy import Dialer, DialPolicy, PolicyInvalid, Verdict, policy_from
from pbx_stasis.dialing.policy_store import REFUSED, DialPolicies

__all__ = [
    "REFUSED",
    "DialError",
    "DialPolicies",
    "DialPolicy",
    "DialRefused",
    "Dialer",
    "PhoneNotRegistered",
    "PolicyInvalid",
    "Verdict",
    "policy_from",
]
