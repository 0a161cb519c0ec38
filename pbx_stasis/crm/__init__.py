"""Contacts and dispositions: who is calling, and how each call ended for the business."""

from __future__ import annotations
