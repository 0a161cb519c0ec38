"""Outside calls: which numbers a tenant may dial and who may dial them (the dialling policy).

`policy.py` decides (pure), `policy_store.py` stores the tenants' policies and journals refusals,
`http.py` and `cli.py` let an admin read and set them. The trunk (transfer.outside.TrunkLine)
checks every outside number here before it dials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbx_stasis.lazy import exports

if TYPE_CHECKING:
    from pbx_stasis.dialing.errors import DialError, DialRefused, PhoneNotRegistered
    from pbx_stasis.dialing.policy import Dialer, DialPolicy, PolicyInvalid, Verdict, policy_from
    from pbx_stasis.dialing.policy_store import REFUSED, DialPolicies

_HOMES = {  # each module and the names it exports
    "errors": ("DialError", "DialRefused", "PhoneNotRegistered"),
    "policy": ("Dialer", "DialPolicy", "PolicyInvalid", "Verdict", "policy_from"),
    "policy_store": ("REFUSED", "DialPolicies"),
}
if not TYPE_CHECKING:  # loaded on first use (pbx_stasis.lazy)
    __getattr__ = exports(__name__, _HOMES)

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
