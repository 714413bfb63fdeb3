"""The Vietnamese working-day calendar and the one-stop-shop counting rules."""

from eiso.core.workdays.overrides import CalendarOverride, OverrideKind, load_calendar
from eiso.core.workdays.working_calendar import VN_TZ, OfficeHours, WorkingCalendar

__all__ = [
    "VN_TZ",
    "CalendarOverride",
    "OfficeHours",
    "OverrideKind",
    "WorkingCalendar",
    "load_calendar",
]
