"""scripts/cluster's implementation: the HA topology on one machine (Kamailio + Asterisk nodes)."""
