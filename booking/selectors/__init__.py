"""Reads for booking: the seat map as a fan sees it now, holds and reservations, the door's counts, and the
staff's figures over bookings (sales and revenue per date, a date's buyers, its refunds and exports, and the
rows of a date's CSV export).

One module per subject: seat_maps (the grid every fan shares, the fan's map and the staff's), reservations
(the fan's holds, checkout, My tickets, cancellation quotes and fees and whether a ticket may be cancelled, and
the date's booking and cancelling deadlines), cancellation_fees (a concert's fee schedule and the pure fee
arithmetic), tickets (a paid seat's e-ticket: its code and QR code, or VOID), checkins (the door), sales (the
dashboard, sales_report and revenue), date_cancellations (a cancelled date's record and refund progress),
exports (the CSV rows) and waitlist (the waiting lists of sold-out dates and their offers).
Every read treats a HELD seat whose hold has passed as AVAILABLE, whether or not the sweep has run. Callers use
the names re-exported here (`from booking import selectors; selectors.seat_map(...)`).
"""

from .cancellation_fees import (
    STANDARD_SCHEDULE,
    Fee,
    FeeBand,
    FeeStep,
    cancellation_fee,
    fee_schedule_of,
    schedule_bands,
)
from .checkins import CheckInCounts, DoorCount, checkin_counts, checkin_counts_by_door, checkin_list_dates, door_dates
from .date_cancellations import (
    cancellation_of,
    cancellation_progress,
    live_reservations,
    live_reservations_summary,
    refunds_running,
)
from .exports import EXPORT_COLUMNS, ExportPrefetches, export_bytes, export_rows, recent_exports, ticket_status
from .reservations import (
    RESERVATIONS_PER_PAGE,
    CancellationQuote,
    CheckoutState,
    TicketFlags,
    cancellation_deadline,
    cancellation_quote,
    cancellation_refusal,
    checkout_state,
    fee_for,
    holds_seats_on_concert,
    last_hold_ran_out,
    live_holds,
    live_seat_count,
    may_pay_without_admission,
    paid_with_key,
    payments_with_key,
    reservations_after,
    reservations_for,
    show_has_started,
)
from .sales import (
    ConcertSales,
    DateSales,
    DaySales,
    SalesDashboard,
    SalesFigures,
    date_revenue,
    sales_by_date,
    sales_dashboard,
    sales_over_time,
)
from .seat_maps import GridSeat, SeatGrid, SeatMapEntry, SeatState, StaffSeat, seat_grid, seat_map, staff_seat_map
from .tickets import ETicket, e_ticket, ticket_for, with_check_in_time
from .waitlist import (
    WaitlistPlace,
    fans_waiting_on_date,
    free_seat_count,
    live_waitlist_entry,
    open_offers_for,
    waitlist_of_date,
    waitlist_place,
)

__all__ = [
    "EXPORT_COLUMNS",
    "RESERVATIONS_PER_PAGE",
    "STANDARD_SCHEDULE",
    "CancellationQuote",
    "CheckInCounts",
    "DoorCount",
    "CheckoutState",
    "ConcertSales",
    "DateSales",
    "DaySales",
    "ETicket",
    "ExportPrefetches",
    "Fee",
    "FeeBand",
    "FeeStep",
    "GridSeat",
    "SalesDashboard",
    "SalesFigures",
    "SeatGrid",
    "SeatMapEntry",
    "SeatState",
    "StaffSeat",
    "TicketFlags",
    "WaitlistPlace",
    "cancellation_deadline",
    "cancellation_fee",
    "cancellation_of",
    "cancellation_progress",
    "cancellation_quote",
    "cancellation_refusal",
    "checkin_counts",
    "checkin_counts_by_door",
    "checkin_list_dates",
    "checkout_state",
    "date_revenue",
    "door_dates",
    "e_ticket",
    "export_bytes",
    "export_rows",
    "fee_for",
    "fee_schedule_of",
    "fans_waiting_on_date",
    "free_seat_count",
    "holds_seats_on_concert",
    "last_hold_ran_out",
    "live_holds",
    "live_reservations",
    "live_reservations_summary",
    "live_seat_count",
    "may_pay_without_admission",
    "live_waitlist_entry",
    "open_offers_for",
    "paid_with_key",
    "payments_with_key",
    "recent_exports",
    "refunds_running",
    "reservations_after",
    "reservations_for",
    "sales_by_date",
    "sales_dashboard",
    "sales_over_time",
    "schedule_bands",
    "seat_grid",
    "seat_map",
    "show_has_started",
    "staff_seat_map",
    "ticket_for",
    "ticket_status",
    "with_check_in_time",
    "waitlist_of_date",
    "waitlist_place",
]
