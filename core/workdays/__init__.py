"""The Vietnamese working-day calendar and the one-stop-shop counting rules."""

from eiso.core.workdays.counting import UNITS, Extension, Rule, Unit, due
from eiso.core.workdays.overrides import CalendarOverride, OverrideKind, load_calendar
from eiso.core.workdays.working_calendar import VN_TZ, OfficeHours, WorkingCalendar

__all__ = [
    "UNITS",
    "VN_TZ",
    "CalendarOverride",
    "Extension",
    "OfficeHours",
    "OverrideKind",
    "Rule",
    "Unit",
    "WorkingCalendar",
    "due",
    "load_calendar",
]
