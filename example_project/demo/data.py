"""The demo's people, groups and templates, and the simulator's magic numbers it sends to."""

from __future__ import annotations

# The simulator's magic numbers (see docs/testing.rst); every other valid number is delivered.
FAILS = "+27600000001"
OPTS_OUT = "+27600000003"
REPLIES = "+27600000006"

THANDI = "+27821234501"
SIPHO = "+27821234502"
AYESHA = "+27821234503"
JOHAN = "+27821234504"

#: (title, first name, last name, number): people, and the magic numbers with names to find them.
CONTACTS = [
    ("Ms", "Thandi", "Nkosi", THANDI),
    ("Mr", "Sipho", "Dlamini", SIPHO),
    ("Ms", "Ayesha", "Patel", AYESHA),
    ("Mr", "Johan", "van Wyk", JOHAN),
    ("", "Magic", "fails", FAILS),
    ("", "Magic", "opts out", OPTS_OUT),
    ("", "Magic", "replies", REPLIES),
]
GROUPS = {"Customers": [THANDI, SIPHO, AYESHA], "Staff": [JOHAN]}
TEMPLATES = {
    "Welcome": "Hi {{ first_name }}, welcome to {{ shop }}! Reply STOP to opt out.",
    "Reminder": "Hi {{ first_name }}, a reminder of your appointment on {{ date }}.",
}
