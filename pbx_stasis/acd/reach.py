"""An agent's phone as each Asterisk node sees it (pure: no IO).

In a cluster (docs/deployment.md) every node qualifies a softphone registered at the SIP edge
on its own, so the nodes may disagree for a while (after a registration, until each node's
next qualify) or for good (one node cannot reach the phone). The agent's leg is originated on
the caller's node (ari/nodes.py), so what counts for a call is the view of that node: the
agent is registered when some node reaches the phone, and is offered a caller on node N
unless N says it cannot reach them. A node that says nothing yet (or a report from no node's
context) does not hold offers back; a lost node's word is forgotten.

With one Asterisk node every report comes from no node (`None`): registered is that report,
exactly as before there were nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PhoneReach:
    """One agent's phone: reachable or not, by the node that said so (None: no node's context,
    a single-node deployment or a refresh outside any node's events)."""

    by_node: dict[str | None, bool] = field(default_factory=dict)

    def report(self, node: str | None, reachable: bool) -> None:
        if node is not None:
            self.by_node.pop(None, None)  # a node's own word supersedes one from no node
        self.by_node[node] = reachable

    def forget(self, node: str) -> bool:
        """Drop a lost node's word; True when it had one."""
        return self.by_node.pop(node, None) is not None

    @property
    def registered(self) -> bool:
        """Reachable from some node: the agent can be offered calls at all."""
        return any(self.by_node.values())

    @property
    def unreachable_on(self) -> frozenset[str]:
        """The nodes that say they cannot reach the phone (while another node can): callers
        on these are not offered the agent. Empty while no node reaches it (then the agent
        is unregistered anyway)."""
        if not self.registered:
            return frozenset()
        return frozenset(node for node, ok in self.by_node.items() if node is not None and not ok)

    def reachable_on(self, node: str | None) -> bool:
        """Whether a caller on `node` may be offered the agent."""
        return self.registered and (node is None or node not in self.unreachable_on)
