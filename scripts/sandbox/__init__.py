"""The sandbox Asterisk: a Debian sid chroot with Asterisk 22, and named instances running in it."""
