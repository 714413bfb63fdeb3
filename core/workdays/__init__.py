"""The Vietnamese working-day calendar and the one-stop-shop counting rules."""

from eiso.core.workdays.working_calendar import WorkingCalendar, OfficeHours, VN_TZ
from eiso.core.workdays.overrides import CalendarOverride, OverrideKind, load_calendar

__all__ = [
    "WorkingCalendar",
    "OfficeHours",
    "VN_TZ",
    "CalendarOverride",
    "OverrideKind",
    "load_calendar",
]
