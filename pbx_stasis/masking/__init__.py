"""Number masking: callers' numbers shown masked to the roles a tenant chooses, everywhere."""
