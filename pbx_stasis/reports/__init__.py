"""Reports for managers: a period's figures per queue, per agent and per hour, from the journal."""
