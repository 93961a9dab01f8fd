"""What the real incident log looks like, in numbers: the distributions the synthetic generator
draws from.

Every figure here was distilled from the statistics profile of the full UCI 498 log (141,712
events of 24,918 incidents; ``profile.json`` in the shared data folder described in DESIGN.md).
No event of the real log is stored here, only counts. Counts are kept as counts (not shares) so
they can be checked against that profile by eye; the generator normalises them.

- Value pools (:class:`Pool`): most ids in the log are a fixed text around an integer
  (``Caller 2403``). A pool keeps the most frequent integers with their counts and spreads the
  rest of the mass uniformly over the integer range seen in the data.
- ``?`` shares: the share of *events* on which a column is missing. The generator decides most of
  them once per incident, which keeps the event-level share.
- States: whole collapsed state paths (``New > Active > Resolved > Closed``) with their incident
  counts, coded one letter per state, and the chance that an event repeats its state (a field edit
  without a state change), from the event-to-event transition counts.
- Times: histograms in days of opened -> resolved and of resolved -> closed (most incidents are
  closed by a job five days after they were resolved), and opened_at by weekday and hour.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Pool(NamedTuple):
    """Values ``template.format(n)``: the ``top`` integers with their counts, and ``tail[2]``
    more counts spread uniformly over the integers ``tail[0]..tail[1]``."""

    template: str
    top: dict[int, int]
    tail: tuple[int, int, int]


# fmt: off
POOLS: Final[dict[str, Pool]] = {
    # incident-level columns: counts on the first event of each incident
    "caller_id": Pool("Caller {}", {1904: 438, 290: 257, 4514: 130, 90: 57, 3763: 56, 1441: 56, 1531: 53, 4414: 52, 298: 44, 93: 40, 4166: 39, 3038: 36}, (2, 5642, 23657)),
    "opened_by": Pool("Opened by  {}", {17: 7214, 24: 1600, 131: 1237, 55: 1047, 108: 1041, 62: 988, 40: 822, 501: 698, 386: 653, 8: 638, 180: 632, 305: 568}, (2, 538, 7066)),
    "sys_created_by": Pool("Created by {}", {10: 3390, 13: 708, 81: 563, 62: 529, 20: 490, 30: 479, 52: 477, 216: 461, 33: 453, 89: 425, 34: 417, 6: 353}, (1, 233, 4678)),
    "location": Pool("Location {}", {204: 5559, 161: 4000, 143: 3269, 108: 2143, 93: 1941, 51: 1515, 188: 621, 179: 348, 43: 329, 111: 263, 55: 241, 46: 221}, (2, 249, 4416)),
    "category": Pool("Category {}", {42: 3629, 26: 3268, 53: 2655, 46: 2243, 32: 1495, 9: 1141, 37: 1135, 23: 1071, 20: 1067, 57: 916, 61: 805, 40: 686}, (2, 63, 4768)),
    "subcategory": Pool("Subcategory {}", {174: 6644, 223: 3736, 175: 1850, 164: 1242, 9: 877, 135: 573, 275: 563, 170: 493, 36: 442, 28: 424, 43: 398, 125: 387}, (2, 305, 7220)),
    "u_symptom": Pool("Symptom {}", {491: 9265, 534: 1669, 116: 486, 387: 375, 4: 352, 506: 351, 532: 345, 494: 334, 571: 260, 105: 195, 296: 194, 118: 187}, (2, 609, 5170)),
    "resolved_by": Pool("Resolved by {}", {11: 3071, 15: 2415, 103: 689, 177: 686, 32: 597, 66: 543, 53: 490, 85: 475, 62: 451, 166: 448, 27: 437, 133: 428}, (2, 231, 14089)),
    "closed_code": Pool("code {}", {6: 14882, 7: 4412, 9: 2489, 8: 831, 5: 677, 1: 449, 10: 314, 11: 221, 16: 171, 4: 130, 3: 99, 2: 59, 15: 43, 17: 21, 13: 8, 14: 3, 12: 2}, (1, 17, 0)),
    "first_assignment_group": Pool("Group {}", {70: 12791, 20: 1367, 25: 764, 24: 698, 64: 622, 65: 501, 55: 416, 66: 389, 39: 375, 9: 344, 57: 341, 73: 331}, (2, 82, 4253)),
    # rare links: counts over all events
    "cmdb_ci": Pool("cmdb_ci {}", {31: 32, 49: 24, 7: 24, 11: 21, 14: 17, 46: 16, 23: 14, 5: 14, 17: 13, 40: 12, 28: 11, 12: 11}, (2, 53, 236)),
    "problem_id": Pool("Problem ID  {}", {14: 184, 2: 147, 52: 82, 239: 48, 95: 40, 213: 34, 32: 33, 7: 29, 64: 28, 190: 26, 25: 24, 144: 21}, (2, 259, 1599)),
    "rfc": Pool("CHG{:07d}", {132: 20, 1230: 20, 47: 18, 1656: 17, 3516: 15, 1398: 15, 3167: 13, 342: 12, 932: 12, 959: 12, 97: 11, 1530: 11}, (47, 3516, 815)),
    # event-level columns: counts over all events (sys_updated_by without the system user 908)
    "assignment_group": Pool("Group {}", {70: 43474, 25: 7679, 24: 6752, 20: 6170, 39: 4728, 23: 4228, 27: 3817, 28: 3638, 73: 3304, 65: 2852, 55: 2400, 64: 2245}, (2, 82, 36212)),
    "assigned_to": Pool("Resolver {}", {17: 10590, 13: 8802, 194: 3515, 57: 3144, 69: 2983, 33: 2502, 115: 2229, 24: 2174, 249: 2128, 215: 2112, 78: 2017, 140: 1936}, (2, 253, 70084)),
    "sys_updated_by": Pool("Updated by {}", {44: 12644, 60: 7009, 429: 4169, 859: 2560, 135: 2329, 131: 2224, 265: 2200, 241: 1902, 573: 1895, 133: 1893, 213: 1843}, (1, 996, 64882)),
}

# Columns of a few plain values, incident level (vendor and caused_by: over all events).
CHOICES: Final[dict[str, dict[str, int]]] = {
    "contact_type": {"Phone": 24684, "Self service": 161, "Email": 61, "IVR": 9, "Direct opening": 3},
    "notify": {"Do Not Notify": 24882, "Send Email": 36},
    "vendor": {"code 8s": 167, "Vendor 1": 69, "Vendor 3": 6, "Vendor 2": 2},
    "caused_by": {"CHG0000097": 11, "CHG0000132": 7, "CHG0001327": 5},
}

# Share of events on which each column is "?" (columns never missing are left out).
MISSING_SHARES: Final[dict[str, float]] = {
    "caller_id": 0.0002, "opened_by": 0.03412, "sys_created_by": 0.37453,
    "sys_created_at": 0.37453, "location": 0.00054, "category": 0.00055, "subcategory": 0.00078,
    "u_symptom": 0.23261, "cmdb_ci": 0.99686, "assignment_group": 0.10029,
    "assigned_to": 0.19403, "problem_id": 0.98381, "rfc": 0.99301, "vendor": 0.99828,
    "caused_by": 0.99984, "closed_code": 0.00504, "resolved_by": 0.00159, "resolved_at": 0.02216,
}

# assigned_to is "?" more often early in an incident: share of "?" by state.
UNASSIGNED_BY_STATE: Final[dict[str, float]] = {
    "New": 0.37, "Active": 0.22, "Awaiting User Info": 0.26, "Resolved": 0.03, "Closed": 0.03,
}
UNASSIGNED_OTHERWISE: Final = 0.22

# (impact, urgency, priority): events. Priority is a function of impact and urgency.
IMPACT_URGENCY_PRIORITY: Final[dict[tuple[str, str, str], int]] = {
    ("1 - High", "1 - High", "1 - Critical"): 2258,
    ("1 - High", "2 - Medium", "2 - High"): 1233,
    ("2 - Medium", "1 - High", "2 - High"): 1739,
    ("2 - Medium", "2 - Medium", "3 - Moderate"): 132429,
    ("2 - Medium", "3 - Low", "4 - Low"): 167,
    ("3 - Low", "1 - High", "3 - Moderate"): 23,
    ("3 - Low", "2 - Medium", "4 - Low"): 432,
    ("3 - Low", "3 - Low", "4 - Low"): 3431,
}

STATE_CODES: Final[dict[str, str]] = {
    "N": "New", "A": "Active", "U": "Awaiting User Info", "P": "Awaiting Problem",
    "V": "Awaiting Vendor", "E": "Awaiting Evidence", "R": "Resolved", "C": "Closed", "X": "-100",
}

# The 100 most frequent collapsed state paths (99.6% of incidents), "code:incidents".
STATE_PATHS: Final = """
NRC:6282 NARC:5492 ARC:5361 RC:1816 NAURC:1697 NURC:1520 AURC:861 NAUARC:299 NUARC:259 URC:133
AUARC:101 NAVRC:85 NAUAURC:74 NUAURC:71 NVRC:53 NAPRC:51 NARARC:48 NRARC:46 NPRC:44 UARC:44
NAUAUARC:33 APRC:32 AUAURC:32 AVRC:23 ARARC:19 NURARC:18 NUAUARC:16 APURC:13 NAVARC:13
UAURC:12 NAPURC:12 NPURC:12 NC:11 NAURARC:11 NARAURC:10 NVARC:10 ARAURC:8 NPARC:8 NAURAURC:8
NAUARARC:7 NAVURC:7 NRAURC:7 NAUAUAURC:6 NUARARC:6 NURAURC:6 NVURC:6 NAUAUAUARC:5 AUPRC:5
NAPARC:5 NUPRC:5 NAVAURC:5 NAPAURC:4 PRC:4 NAUPRC:4 AURARC:4 AUAUAURC:4 NRARARC:4 NAUVRC:4
NUAVRC:4 AVARC:4 NARARARC:3 APUAURC:3 AUPURC:3 NPAURC:3 NARCARC:3 AUVURC:3 NURAUARC:3 NUVURC:3
UAUARC:3 AUAUARC:3 NUVRC:3 NUAURARC:2 NUAUAURC:2 NURARARC:2 NAURARARC:2 NARARAURC:2 NAUVURC:2
AURAUARC:2 PURC:2 NURARAURC:2 NARCAURC:2 NUAUAUARC:2 NAUERC:2 RARC:2 NARAUARC:2 NAUAPRC:2
NVAVRC:2 NVAURC:2 NVUARC:2 NAERC:2 NPVRC:2 NUAPRC:2 AUVRC:2 NVEVEVRC:2 NAUAPARC:1 NPAUAUARC:1
NPRAUARC:1 APUPRC:1 AUAURAUARC:1 APAURC:1
"""

# Chance that an event in a state is followed by another event in the same state
# (state -> same state over all transitions out of it). The final Closed run repeats rarely.
REPEAT: Final[dict[str, float]] = {
    "New": 0.5496, "Active": 0.587, "Awaiting User Info": 0.6003, "Awaiting Problem": 0.4512,
    "Awaiting Vendor": 0.6195, "Awaiting Evidence": 0.3684, "Resolved": 0.02, "Closed": 0.0023,
    "-100": 0.6,
}

# Histograms in days: (upper bound of the bin, incidents); the last bin is [180, 341).
OPENED_TO_RESOLVED_DAYS: Final[tuple[tuple[float, int], ...]] = (
    (0.01, 4524), (0.1, 4264), (0.5, 1938), (1, 1345), (2, 1834), (5, 2714), (5.5, 347),
    (6, 316), (7, 719), (10, 1397), (15, 1456), (20, 645), (30, 714), (60, 607), (90, 207),
    (180, 224), (341, 111),
)
RESOLVED_TO_CLOSED_DAYS: Final[tuple[tuple[float, int], ...]] = (
    (0.01, 75), (0.1, 18), (0.5, 5), (1, 10), (2, 19), (5, 107), (5.5, 20110), (6, 24),
    (7, 322), (10, 951), (15, 824), (20, 764), (30, 7), (60, 32), (90, 87), (180, 2), (244, 5),
)
# The [5, 5.5) bin above is the auto-close job: 5 days after resolution plus the wait for the
# job's next hourly run (1..60 minutes); it closes 86% of incidents. Quick resolutions are
# auto-closed more often (this split is calibrated on the opened -> closed histogram, whose
# median is 6.08 days).
AUTO_CLOSE_DAYS: Final = 5
AUTO_CLOSE_QUICK: Final = 0.93  # resolved within a day
AUTO_CLOSE_SLOW: Final = 0.79

OPENED_BY_WEEKDAY: Final = (5947, 4951, 4884, 4105, 3829, 639, 563)  # Monday first
OPENED_BY_HOUR: Final = (
    269, 222, 149, 123, 128, 132, 320, 573, 2547, 3014, 2893, 2469,
    1342, 1645, 2255, 2131, 1867, 1075, 466, 296, 226, 359, 245, 172,
)
# 98.9% of incidents were opened in the first 93 days (29 Feb to 31 May 2016); the rest trickle
# in over the following 260 days.
BULK_DAYS: Final = 93
TAIL_DAYS: Final = 260
TAIL_SHARE: Final = 0.011
# fmt: on

# Incidents opened in a second per incident number: numbers increase with opened_at, with gaps
# (45..121064 for 24,918 incidents).
FIRST_NUMBER: Final = 45
MEAN_NUMBER_STEP: Final = 4.86

# 45% of incidents stay with their first group; in the others the group changes (and
# reassignment_count goes up by one) on an event after the first with this chance. Then the
# steps of sys_mod_count from one event to the next.
NEVER_REASSIGNED: Final = 0.45
REASSIGN: Final = 0.36
MOD_STEPS: Final[dict[int, float]] = {1: 0.87, 2: 0.07, 3: 0.025, 4: 0.015, 5: 0.01, 8: 0.01}

SYSTEM_USER: Final = "Updated by 908"  # the automation user: closes 98.8% of incidents
SYSTEM_CLOSES: Final = 0.988
SYSTEM_OTHER_EVENTS: Final = 0.098

# Shares of incidents (of events, for knowledge): u_priority_confirmation flips false -> true
# for 77% of incidents, on the last ~2.5 events; knowledge is on in 18% of events.
CONFIRMED: Final = 0.77
CONFIRMED_EVENTS_MEAN: Final = 2.5
KNOWLEDGE: Final = 0.179

# made_sla turns false on the Closed event when resolving took longer than this (days), by
# priority: nearly every P1/P2 misses, 35% of P3 and 16% of P4.
SLA_DAYS: Final[dict[str, float]] = {
    "1 - Critical": 0.0,
    "2 - High": 0.0,
    "3 - Moderate": 3.4,
    "4 - Low": 11.0,
}

# The minutes from opened_at to the first logged update: 47% at once, else about 5 minutes.
FIRST_UPDATE_AT_ONCE: Final = 0.47
FIRST_UPDATE_MEAN_MINUTES: Final = 8.0
